"""Alerts to staff by email, over the same SMTP settings and connection as replies.

Plain text, one message per alert; errors are mapped exactly as for replies
(``responders.email``): SMTP 4xx and connection trouble are transient, 5xx and
refused authentication permanent.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from responders.base import PermanentError, TransientError
from responders.email import SmtpResponder


class StaffMailer(SmtpResponder):
    """Sends short notifications to staff addresses."""

    def notify(self, to: str, subject: str, body: str, *, message_id: str | None = None) -> str:
        """Send one message; returns its Message-ID. Pass ``message_id`` to send a
        repeat as the same message (mail clients fold messages sharing one)."""
        if "@" not in to:
            raise PermanentError(f"not an email address: {to!r}")
        msg = EmailMessage()
        msg["From"] = self.options.from_address
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self._clock())
        domain = self.options.from_address.rpartition("@")[2] or None
        msg["Message-ID"] = message_id or make_msgid(domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(body)
        smtp = self._connect()
        try:
            smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"smtp: recipient refused: {to}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}") from exc
            raise PermanentError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"smtp: {exc}", maybe_sent=True) from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return str(msg["Message-ID"])
