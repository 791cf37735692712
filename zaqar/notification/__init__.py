"""Push deliveries to subscribers: webhooks (http, https) and email (mailto).

A self-contained library: it sends one attempt at a time and says how it
went (:class:`~zaqar.notification.results.DeliveryResult`); recording
deliveries, scheduling retries (with :mod:`zaqar.notification.retry`) and
choosing the subscribers are left to its caller. It imports neither the web
framework nor any storage backend.

Modules:
    results: The outcome of one attempt.
    settings: The ``[notification]`` options as a plain value.
    retry: The ``_retry_policy`` of queues and subscriptions.
    payload: What is sent: notifications and confirmation messages.
    webhook: POSTing to http(s) subscribers, and signing what is POSTed.
    email: Emailing mailto: subscribers over SMTP or a sendmail program.
    senders: Picking the sender for a subscriber.
"""
