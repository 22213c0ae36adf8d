//! Email: what Plaza mails, and the seam to whatever sends it.
//!
//! The core composes every mail (plain text and HTML, links into the web client) and
//! decides when to send; a [`Mailer`] (SMTP in `plaza-mail`) only delivers. Without one
//! the [`Postman`] says so, and each feature answers with what to share by hand.

mod templates;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use templates::{escape_html, html_page, invitation, password_reset};

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A one-click unsubscribe address (`List-Unsubscribe`), for mail sent unasked.
    pub unsubscribe: Option<String>,
}

/// Delivers mail: the SMTP transport, or a test's recorder.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `mail`; the error says why it was not accepted.
    async fn send(&self, mail: &Mail) -> Result<(), String>;
}

/// Where mail says it comes from, and where its links lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The server's name in subjects and greetings ("Plaza").
    pub name: String,
    /// The web client's address, without a trailing slash: links are `{base_url}/#/...`.
    pub base_url: String,
}

/// What became of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailStatus {
    Sent,
    /// The server tried and the mail server refused or could not be reached.
    Failed(String),
    /// This server has no mail settings.
    NotConfigured,
}

impl MailStatus {
    pub fn sent(&self) -> bool {
        *self == MailStatus::Sent
    }

    /// Why the mail did not go, for the answer to whoever asked for it.
    pub fn problem(&self) -> Option<&str> {
        match self {
            MailStatus::Sent => None,
            MailStatus::Failed(why) => Some(why),
            MailStatus::NotConfigured => Some("this server is not set up to send email"),
        }
    }
}

/// Hands mail to the configured [`Mailer`], if any, with a time limit.
pub struct Postman {
    mailer: Option<Arc<dyn Mailer>>,
    site: Site,
}

impl Postman {
    /// How long one delivery may take before it counts as failed.
    pub const TIMEOUT: Duration = Duration::from_secs(15);

    pub fn new(mailer: Option<Arc<dyn Mailer>>, site: Site) -> Self {
        Postman { mailer, site }
    }

    /// A postman with no mailer: every feature says that mail is not set up.
    pub fn none(base_url: &str) -> Self {
        Postman::new(None, Site { name: "Plaza".to_owned(), base_url: base_url.to_owned() })
    }

    pub fn configured(&self) -> bool {
        self.mailer.is_some()
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Sends `mail` now and answers what happened; a failure is logged, never raised:
    /// what the mail was about is stored already.
    pub async fn deliver(&self, mail: &Mail) -> MailStatus {
        let Some(mailer) = &self.mailer else { return MailStatus::NotConfigured };
        let outcome = match tokio::time::timeout(Self::TIMEOUT, mailer.send(mail)).await {
            Ok(Ok(())) => MailStatus::Sent,
            Ok(Err(why)) => MailStatus::Failed(why),
            Err(_) => MailStatus::Failed("the mail server did not answer in time".to_owned()),
        };
        if let MailStatus::Failed(why) = &outcome {
            tracing::warn!(subject = %mail.subject, error = %why, "mail not sent");
        }
        outcome
    }
}
