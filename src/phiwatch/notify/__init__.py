"""Alerts: finding events -> routes -> an outbox in the store -> channels (SNS, email, Slack, webhook, Apprise).

Events are written to the outbox in the same transaction as the finding change that caused
them, and delivered after it commits, with retries; a crash between the two loses nothing
because the next run delivers what is still pending.
"""
