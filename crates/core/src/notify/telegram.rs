//! Telegram Bot API `sendMessage` (token + chat id).
//! (Placeholder signature: the `notify-channels` slice fills it in.)

use super::{DeliveryError, DeliveryFailure, Rendered, TelegramSpec};

/// Send one message to the chat. `bot_token` comes from the keychain and never reaches an
/// error message or a log (the Bot API puts it in the URL path).
pub async fn send(
    spec: &TelegramSpec,
    bot_token: &str,
    msg: &Rendered,
) -> Result<(), DeliveryError> {
    let _ = (spec, bot_token, msg);
    Err(DeliveryError::new(
        DeliveryFailure::Other,
        "Telegram delivery is not built yet",
    ))
}
