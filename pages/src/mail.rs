//! Mail texts, following the manual's wording (件名 【<service>】…). Plain
//! text only: links are written out in full, so they survive any mail client.

/// A message ready to send: the gateway adds From and To.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

fn footer(service: &str) -> String {
    format!(
        "=====\n本メールは「{service}」のシステムより自動的に送信しております。\n\
         送信専用となっておりますので、ご返信いただきましてもご対応いたしかねますので\n\
         予めご了承ください。\n=====\n"
    )
}

fn addressee(name: &str) -> &str {
    if name.trim().is_empty() {
        "ご利用者"
    } else {
        name
    }
}

/// 利用者登録のご案内 (manual §1-5). `inviter` is the contract holder's address
/// when an admin invites a user; `None` for the contract holder's own
/// registration, which the operator starts.
pub fn invitation(service: &str, name: &str, inviter: Option<&str>, url: &str) -> MailText {
    let who = addressee(name);
    let registered = match inviter {
        Some(inviter) => {
            format!("{inviter}より{who}様が\n本サービスの利用者として登録されました。")
        }
        None => format!("{who}様が\n本サービスのご契約者として登録されました。"),
    };
    MailText {
        subject: format!("【{service}】利用者登録のご案内"),
        body: format!(
            "{who} 様\n\n\
             こちらは、{service}システムです。\n\
             {registered}\n\
             本メール受領後、14日以内に下記URLへアクセスして利用者登録を完了してください。\n\n\
             ■利用者登録用URL\n\n\
             {url}\n\n\
             {}",
            footer(service)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_follows_the_manual() {
        let m = invitation(
            "おまかせクラウドストレージ",
            "山田 花子",
            Some("holder@example.jp"),
            "https://ff.example.net/.sekisho/register?ticket=T",
        );
        assert_eq!(
            m.subject,
            "【おまかせクラウドストレージ】利用者登録のご案内"
        );
        assert!(m.body.starts_with("山田 花子 様\n"));
        assert!(m.body.contains(
            "holder@example.jpより山田 花子様が\n本サービスの利用者として登録されました。"
        ));
        assert!(m.body.contains("14日以内"));
        assert!(m
            .body
            .contains("https://ff.example.net/.sekisho/register?ticket=T"));
        let h = invitation("S", "", None, "u");
        assert!(h
            .body
            .contains("ご利用者様が\n本サービスのご契約者として登録されました。"));
    }
}
