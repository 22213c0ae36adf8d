//! The mails Plaza writes: each as plain text and as HTML, with the same content.

use super::{Mail, Site};

/// `text` safe to put inside HTML elements and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML around every mail's body: one column, the server's name, a footer.
pub fn html_page(site: &Site, body: &str, footer: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5;\
         max-width:36em;margin:auto;padding:1em;color:#222\">\
         <p style=\"font-weight:bold;color:#555\">{name}</p>{body}\
         <hr style=\"border:none;border-top:1px solid #ddd\">\
         <p style=\"font-size:smaller;color:#777\">{footer}</p></body></html>",
        name = escape_html(&site.name),
    )
}

fn button(link: &str, label: &str) -> String {
    format!(
        "<p><a href=\"{link}\" style=\"display:inline-block;padding:.6em 1.2em;\
         background:#2563eb;color:#fff;border-radius:4px;text-decoration:none\">{label}</a></p>\
         <p style=\"font-size:smaller\">Or open this link: <a href=\"{link}\">{link}</a></p>",
        link = escape_html(link),
        label = escape_html(label),
    )
}

/// The link that opens an invitation in the web client.
pub fn invitation_link(site: &Site, invitation_id: &str) -> String {
    format!("{}/#/invite/{invitation_id}", site.base_url)
}

/// An invitation to a space, sent to the invited address.
pub fn invitation(
    site: &Site,
    to: &str,
    space_title: &str,
    inviter: &str,
    role: &str,
    invitation_id: &str,
) -> Mail {
    let link = invitation_link(site, invitation_id);
    let subject = format!("{inviter} invited you to \"{space_title}\" on {}", site.name);
    let text = format!(
        "{inviter} invited you to join the space \"{space_title}\" on {name} as a {role}.\n\n\
         Open this link to join (sign in or create an account with this address, {to}):\n\
         {link}\n\n\
         If you did not expect this invitation, you can ignore this mail.\n",
        name = site.name,
    );
    let body = format!(
        "<p>{inviter} invited you to join the space <strong>{title}</strong> as a {role}.</p>{button}\
         <p>Sign in or create an account with this address, {to}.</p>",
        inviter = escape_html(inviter),
        title = escape_html(space_title),
        role = escape_html(role),
        to = escape_html(to),
        button = button(&link, "Join the space"),
    );
    let html =
        html_page(site, &body, "If you did not expect this invitation, you can ignore this mail.");
    Mail { to: to.to_owned(), subject, text, html, unsubscribe: None }
}

/// A password-reset link, valid for `minutes`.
pub fn password_reset(site: &Site, to: &str, token: &str, minutes: i64) -> Mail {
    let link = format!("{}/#/reset/{token}", site.base_url);
    let subject = format!("Reset your {} password", site.name);
    let text = format!(
        "Someone (hopefully you) asked to reset the password of {to} on {name}.\n\n\
         Open this link within {minutes} minutes to choose a new password:\n{link}\n\n\
         The link works once. If you did not ask for it, ignore this mail: your password \
         stays as it is.\n",
        name = site.name,
    );
    let body = format!(
        "<p>Someone (hopefully you) asked to reset the password of {to}.</p>{button}\
         <p>The link works once, within {minutes} minutes.</p>",
        to = escape_html(to),
        button = button(&link, "Choose a new password"),
    );
    let html = html_page(
        site,
        &body,
        "If you did not ask for this, ignore this mail: your password stays as it is.",
    );
    Mail { to: to.to_owned(), subject, text, html, unsubscribe: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site { name: "Plaza <Test>".to_owned(), base_url: "https://chat.example.com".to_owned() }
    }

    #[test]
    fn invitation_links_into_the_web_client_and_escapes_names_in_html() {
        let mail =
            invitation(&site(), "bob@example.com", "<b>Plans</b>", "Ann & co", "member", "abc");
        assert!(mail.text.contains("https://chat.example.com/#/invite/abc"));
        assert!(mail.html.contains("href=\"https://chat.example.com/#/invite/abc\""));
        assert!(mail.html.contains("&lt;b&gt;Plans&lt;/b&gt;"));
        assert!(mail.html.contains("Ann &amp; co"));
        assert!(!mail.html.contains("<b>Plans"));
        assert!(mail.html.contains("Plaza &lt;Test&gt;"));
    }

    #[test]
    fn reset_mail_carries_the_token_link() {
        let mail = password_reset(&site(), "ann@example.com", "tok", 30);
        assert!(mail.text.contains("https://chat.example.com/#/reset/tok"));
        assert!(mail.text.contains("30 minutes"));
        assert_eq!(mail.to, "ann@example.com");
    }
}
