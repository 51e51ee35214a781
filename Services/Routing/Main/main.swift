import RoutingService
import ServiceKit

await ServiceMain.run(RoutingService.definition)
