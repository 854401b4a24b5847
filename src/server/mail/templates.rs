//! The mails Tasks sends, each as a subject, a plain-text part and an HTML part saying the same
//! thing. Names and addresses are escaped in the HTML part; links are built by the caller from
//! `PUBLIC_URL`.

/// One mail's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What to write.
#[derive(Debug, Clone, Copy)]
pub enum Template<'a> {
    /// After sign-up, or "Send again": a link that proves `email` is the person's.
    VerifyEmail {
        name: &'a str,
        email: &'a str,
        link: &'a str,
        valid_for: &'a str,
    },
    /// "Forgot your password?": a link to set a new one.
    PasswordReset {
        name: &'a str,
        link: &'a str,
        valid_for: &'a str,
    },
    /// After a password reset through a link.
    PasswordChanged {
        name: &'a str,
        forgot_link: &'a str,
        secure_link: &'a str,
    },
    /// To the new address of an email change: the link that makes the change.
    ConfirmNewEmail {
        name: &'a str,
        new_email: &'a str,
        link: &'a str,
        valid_for: &'a str,
    },
    /// To the old address of an email change, when it is asked for.
    EmailChangeRequested {
        name: &'a str,
        new_email: &'a str,
        account_link: &'a str,
        secure_link: &'a str,
    },
    /// After a change to how the account signs in: two-step sign-in, recovery codes, passkeys,
    /// the password.
    TwoStepChanged {
        name: &'a str,
        change: TwoStepChange,
        account_link: &'a str,
        secure_link: &'a str,
    },
    /// A sign-in from a browser the account had not used before.
    NewSignIn {
        name: &'a str,
        /// "2026-12-07 23:40 UTC".
        when: &'a str,
        /// "Firefox on Linux".
        device: &'a str,
        ip: &'a str,
        /// "with your password", "with a passkey", ...
        method: &'a str,
        account_link: &'a str,
        secure_link: &'a str,
    },
    /// A passkey was suspended because its signature counter went backwards.
    PasskeySuspended {
        name: &'a str,
        passkey: &'a str,
        when: &'a str,
        device: &'a str,
        ip: &'a str,
        account_link: &'a str,
        secure_link: &'a str,
    },
}

/// What happened to a person's two-step sign-in, for [`Template::TwoStepChanged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoStepChange {
    Enabled,
    Disabled,
    DisabledByAdmin,
    RecoveryCodesReplaced,
    PasskeyAdded,
    PasskeyRemoved,
    /// A suspended passkey was enabled again by its owner.
    PasskeyReenabled,
    /// The password was changed on the account page.
    PasswordChanged,
    /// An account made with a passkey got a password.
    PasswordAdded,
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
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

/// A paragraph of text and one of HTML. `{name}`-style values are inserted by the callers
/// below, escaped for the HTML part.
struct Builder {
    text: String,
    html: String,
}

impl Builder {
    fn new(name: &str) -> Self {
        let mut b = Self {
            text: String::new(),
            html: String::new(),
        };
        b.para(
            &format!("Hello {name},"),
            &format!("Hello {},", escape(name)),
        );
        b
    }

    fn para(&mut self, text: &str, html: &str) -> &mut Self {
        self.text.push_str(text);
        self.text.push_str("\n\n");
        self.html.push_str("<p style=\"margin:0 0 16px\">");
        self.html.push_str(html);
        self.html.push_str("</p>\n");
        self
    }

    fn same(&mut self, text: &str) -> &mut Self {
        self.para(text, &escape(text))
    }

    fn button(&mut self, label: &str, link: &str) -> &mut Self {
        self.text.push_str(link);
        self.text.push_str("\n\n");
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 16px\"><a href=\"{href}\" style=\"display:inline-block;\
             padding:10px 18px;background:#2457c5;color:#ffffff;border-radius:6px;\
             text-decoration:none;font-weight:600\">{label}</a></p>\n\
             <p style=\"margin:0 0 16px;font-size:13px;color:#555\">If the button does not \
             work, copy this address into your browser:<br><a href=\"{href}\">{href}</a></p>\n",
            href = escape(link),
            label = escape(label),
        ));
        self
    }

    /// "If this was not you": the "This wasn't me" button, and where to look.
    fn not_me(&mut self, secure_link: &str, account_link: &str) -> &mut Self {
        self.same(
            "If this was not you, someone else may be able to sign in to your account. Choose \
             “This wasn't me”: it signs out every device, suspends your passkeys and takes you \
             to choose a new password. The link works once, for 7 days, without signing in.",
        )
        .button("This wasn't me", secure_link)
        .para(
            &format!("Your devices and recent activity are on your account page: {account_link}"),
            &format!(
                "Your devices and recent activity are on <a href=\"{href}\">your account page</a>.",
                href = escape(account_link)
            ),
        )
    }

    fn finish(&mut self, subject: &str) -> Content {
        self.same("— Tasks");
        Content {
            subject: subject.to_owned(),
            text: std::mem::take(&mut self.text).trim_end().to_owned() + "\n",
            html: format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>{title}</title></head>\n<body style=\"font-family:system-ui,sans-serif;\
                 font-size:16px;line-height:1.5;color:#1a1a1a;max-width:560px;margin:24px auto;\
                 padding:0 16px\">\n{body}</body></html>\n",
                title = escape(subject),
                body = self.html,
            ),
        }
    }
}

/// Renders `template`.
pub fn render(template: Template<'_>) -> Content {
    match template {
        Template::VerifyEmail {
            name,
            email,
            link,
            valid_for,
        } => Builder::new(name)
            .para(
                &format!("Please confirm that {email} is your email address for Tasks:"),
                &format!(
                    "Please confirm that <strong>{}</strong> is your email address for Tasks:",
                    escape(email)
                ),
            )
            .button("Verify my email address", link)
            .same(&format!(
                "The link works for {valid_for}. If you did not sign up for Tasks, you can \
                 ignore this mail."
            ))
            .finish("Verify your email address for Tasks"),
        Template::PasswordReset {
            name,
            link,
            valid_for,
        } => Builder::new(name)
            .same("Someone (hopefully you) asked to reset the password of your Tasks account.")
            .button("Choose a new password", link)
            .same(&format!(
                "The link works once, for {valid_for}. If you did not ask for it, ignore this \
                 mail: your password stays as it is."
            ))
            .finish("Reset your Tasks password"),
        Template::PasswordChanged {
            name,
            forgot_link,
            secure_link,
        } => Builder::new(name)
            .same(
                "Your Tasks password was changed with a reset link, and every device that was \
                 signed in was signed out.",
            )
            .same(
                "If this was not you, someone can read your mail: secure your mailbox first. \
                 Then choose “This wasn't me” (it signs out every device, suspends your \
                 passkeys and takes you to choose a new password; it works once, for 7 days):",
            )
            .button("This wasn't me", secure_link)
            .para(
                &format!("Or ask for another reset link: {forgot_link}"),
                &format!(
                    "Or <a href=\"{href}\">ask for another reset link</a>.",
                    href = escape(forgot_link)
                ),
            )
            .finish("Your Tasks password was changed"),
        Template::ConfirmNewEmail {
            name,
            new_email,
            link,
            valid_for,
        } => Builder::new(name)
            .para(
                &format!("To use {new_email} for your Tasks account, confirm it:"),
                &format!(
                    "To use <strong>{}</strong> for your Tasks account, confirm it:",
                    escape(new_email)
                ),
            )
            .button("Confirm my new address", link)
            .same(&format!(
                "The link works for {valid_for}. Until it is opened, your account keeps its \
                 current address. If you did not ask for this, ignore this mail."
            ))
            .finish("Confirm your new email address for Tasks"),
        Template::EmailChangeRequested {
            name,
            new_email,
            account_link,
            secure_link,
        } => Builder::new(name)
            .para(
                &format!(
                    "Someone signed in to your Tasks account asked to change its email address \
                     to {new_email}. The change happens only when the link we sent to that \
                     address is opened."
                ),
                &format!(
                    "Someone signed in to your Tasks account asked to change its email address \
                     to <strong>{}</strong>. The change happens only when the link we sent to \
                     that address is opened.",
                    escape(new_email)
                ),
            )
            .same("“This wasn't me” below also cancels the change.")
            .not_me(secure_link, account_link)
            .finish("Your Tasks email address is being changed"),
        Template::TwoStepChanged {
            name,
            change,
            account_link,
            secure_link,
        } => {
            let (what, subject) = match change {
                TwoStepChange::Enabled => (
                    "Two-step sign-in was turned on for your Tasks account: signing in now also \
                     needs a code from your authenticator app. Every other device was signed out.",
                    "Two-step sign-in is on for your Tasks account",
                ),
                TwoStepChange::Disabled => (
                    "Two-step sign-in was turned off for your Tasks account: signing in needs \
                     only your password again. Every other device was signed out.",
                    "Two-step sign-in was turned off for your Tasks account",
                ),
                TwoStepChange::DisabledByAdmin => (
                    "An administrator turned off two-step sign-in for your Tasks account (for \
                     example because you lost your phone). Signing in needs only your password \
                     until you turn it on again, and every device was signed out.",
                    "Two-step sign-in was turned off for your Tasks account",
                ),
                TwoStepChange::RecoveryCodesReplaced => (
                    "New recovery codes were made for your Tasks account; the old ones no \
                     longer work. Every other device was signed out.",
                    "New recovery codes for your Tasks account",
                ),
                TwoStepChange::PasskeyAdded => (
                    "A passkey was added to your Tasks account: it can now sign in without a \
                     password. Every other device was signed out.",
                    "A passkey was added to your Tasks account",
                ),
                TwoStepChange::PasskeyRemoved => (
                    "A passkey was removed from your Tasks account: it can no longer sign in. \
                     Every other device was signed out.",
                    "A passkey was removed from your Tasks account",
                ),
                TwoStepChange::PasskeyReenabled => (
                    "A suspended passkey of your Tasks account was enabled again: it can sign in \
                     once more. Every other device was signed out.",
                    "A passkey of your Tasks account was enabled again",
                ),
                TwoStepChange::PasswordChanged => (
                    "The password of your Tasks account was changed on its account page. Every \
                     other device was signed out.",
                    "Your Tasks password was changed",
                ),
                TwoStepChange::PasswordAdded => (
                    "A password was added to your Tasks account, which had only passkeys: it \
                     can now sign in with the password too. Every other device was signed out.",
                    "A password was added to your Tasks account",
                ),
            };
            Builder::new(name)
                .same(what)
                .not_me(secure_link, account_link)
                .finish(subject)
        }
        Template::NewSignIn {
            name,
            when,
            device,
            ip,
            method,
            account_link,
            secure_link,
        } => Builder::new(name)
            .same(&format!(
                "Your Tasks account was signed in to from a browser or app it had not used \
                 before, {method}:"
            ))
            .para(
                &format!("When: {when}\nDevice: {device}\nAddress: {ip}"),
                &format!(
                    "When: <strong>{}</strong><br>Device: <strong>{}</strong><br>Address: \
                     <strong>{}</strong>",
                    escape(when),
                    escape(device),
                    escape(ip)
                ),
            )
            .same("If this was you, there is nothing to do.")
            .not_me(secure_link, account_link)
            .same(
                "You can turn these mails off on your account page. Mails about changes to how \
                 your account signs in always go.",
            )
            .finish("New sign-in to your Tasks account"),
        Template::PasskeySuspended {
            name,
            passkey,
            when,
            device,
            ip,
            account_link,
            secure_link,
        } => Builder::new(name)
            .para(
                &format!(
                    "Your passkey “{passkey}” was just used to try to sign in, but its signature \
                     counter went backwards: that happens when a passkey has been copied to \
                     another device. We suspended it; it cannot sign in anywhere until you \
                     re-enable it."
                ),
                &format!(
                    "Your passkey <strong>{}</strong> was just used to try to sign in, but its \
                     signature counter went backwards: that happens when a passkey has been \
                     copied to another device. We suspended it; it cannot sign in anywhere \
                     until you re-enable it.",
                    escape(passkey)
                ),
            )
            .para(
                &format!("When: {when}\nDevice: {device}\nAddress: {ip}"),
                &format!(
                    "When: <strong>{}</strong><br>Device: <strong>{}</strong><br>Address: \
                     <strong>{}</strong>",
                    escape(when),
                    escape(device),
                    escape(ip)
                ),
            )
            .same(
                "If you restored your device from a backup or moved the passkey yourself, sign \
                 in another way and re-enable it on your account page (your password is \
                 asked). Otherwise remove it there.",
            )
            .not_me(secure_link, account_link)
            .finish("A passkey of your Tasks account was suspended"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_link_and_the_html_escapes_names() {
        let mail = render(Template::VerifyEmail {
            name: "<b>Ann</b> & co",
            email: "ann@example.com",
            link: "https://tasks.example.com/verify-email?token=abc&x=1",
            valid_for: "48 hours",
        });
        assert_eq!(mail.subject, "Verify your email address for Tasks");
        assert!(mail.text.contains("Hello <b>Ann</b> & co,"));
        assert!(
            mail.text
                .contains("https://tasks.example.com/verify-email?token=abc&x=1")
        );
        assert!(mail.html.contains("Hello &lt;b&gt;Ann&lt;/b&gt; &amp; co,"));
        assert!(
            mail.html
                .contains("href=\"https://tasks.example.com/verify-email?token=abc&amp;x=1\"")
        );
        assert!(!mail.html.contains("<b>Ann"));
    }

    #[test]
    fn every_template_has_a_subject_and_both_parts() {
        let link = "https://t.example/x";
        for template in [
            Template::PasswordReset {
                name: "A",
                link,
                valid_for: "30 minutes",
            },
            Template::PasswordChanged {
                name: "A",
                forgot_link: link,
                secure_link: link,
            },
            Template::ConfirmNewEmail {
                name: "A",
                new_email: "b@example.com",
                link,
                valid_for: "24 hours",
            },
            Template::EmailChangeRequested {
                name: "A",
                new_email: "b@example.com",
                account_link: link,
                secure_link: link,
            },
            Template::TwoStepChanged {
                name: "A",
                change: TwoStepChange::PasswordChanged,
                account_link: link,
                secure_link: link,
            },
            Template::PasskeySuspended {
                name: "A",
                passkey: "Phone",
                when: "2026-12-07 23:40 UTC",
                device: "Chrome on Linux",
                ip: "192.0.2.1",
                account_link: link,
                secure_link: link,
            },
        ] {
            let mail = render(template);
            assert!(!mail.subject.is_empty());
            assert!(mail.text.contains(link) && mail.html.contains(link));
            assert!(mail.html.starts_with("<!DOCTYPE html>"));
        }
    }

    #[test]
    fn a_new_sign_in_mail_says_when_where_and_how_and_escapes_the_device() {
        let mail = render(Template::NewSignIn {
            name: "Ann",
            when: "2026-12-07 23:40 UTC",
            device: "<script>x</script> on Linux",
            ip: "192.0.2.1",
            method: "with your password",
            account_link: "https://t.example/account",
            secure_link: "https://t.example/secure-account?token=abc",
        });
        assert_eq!(mail.subject, "New sign-in to your Tasks account");
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("2026-12-07 23:40 UTC"));
            assert!(part.contains("192.0.2.1"));
            assert!(part.contains("with your password"));
            assert!(part.contains("https://t.example/secure-account?token=abc"));
        }
        assert!(mail.text.contains("This wasn't me"));
        assert!(mail.html.contains("This wasn&#39;t me"));
        assert!(
            mail.html
                .contains("&lt;script&gt;x&lt;/script&gt; on Linux")
        );
        assert!(!mail.html.contains("<script>"));
    }
}
