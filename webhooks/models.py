# WebhookEndpoint, WebhookDelivery: see the webhooks issue.
