-- A department's queue is read a page at a time, most urgent first, then by due date and id
-- (RoutingStore.queueQuery): this index holds that order, so every page is a short index walk
-- however long the queue. The expression must stay exactly RoutingStore.urgencyOrder.
CREATE INDEX routing_assignments_department_queue ON routing_assignments
    (department, (CASE priority WHEN 'urgent' THEN 0 WHEN 'special' THEN 1 ELSE 2 END), due_date, id)
    WHERE state <> 'completed';
