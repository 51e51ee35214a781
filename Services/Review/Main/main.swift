import ReviewService
import ServiceKit

await ServiceMain.run(ReviewService.definition)
