"""One router per resource: predictions, the model, monitoring and health, the page."""
