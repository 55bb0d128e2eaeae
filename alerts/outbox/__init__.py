"""The durable alert outbox: deliveries enqueued in the SLA event's transaction (`enqueue`),
claimed and worked by `worker`, summed up for health and the CLI by `status`."""
