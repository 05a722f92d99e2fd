"""Web Push instead of SMS: VAPID keys, subscriptions, the notification outbox and the worker that sends it."""
