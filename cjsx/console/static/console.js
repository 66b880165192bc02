// Start GOV.UK Frontend's components (an ES module, so no inline script is needed under CSP).
import { initAll } from './govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
