-- Open311 GeoReport v2: each request a civic app submitted with its api_key (an API token with
-- the scope open311), the token it was given, and the case (tracking number) it became. A key
-- sees only what it submitted; the idempotency key makes a retried POST return the first answer.

CREATE TABLE open311_requests (
    token           text PRIMARY KEY,            -- random, handed to the app (GET tokens/{token})
    idempotency_key text NOT NULL UNIQUE,        -- derived from the API token and the fields posted
    tracking_number text NOT NULL,               -- the case's tracking number = service_request_id
    service_code    text NOT NULL,
    api_token_id    uuid NOT NULL REFERENCES api_tokens(id),
    submitted_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX open311_requests_by_key ON open311_requests (api_token_id, submitted_at DESC);
CREATE INDEX open311_requests_by_case ON open311_requests (api_token_id, tracking_number);
