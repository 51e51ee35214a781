import ComplaintsService
import ServiceKit

await ServiceMain.run(ComplaintsService.definition)
