//! Remote text inside a chat's markup. Any text of an event may come from elsewhere — a backup
//! server's error message becomes the summary, its hint the "What to do", a drill's or an
//! import's findings quote the backup — so each chat preset passes *every* piece of text it
//! sends through the one escaping function of its markup, and none of it can mention anyone,
//! make a link or a link preview, show an image or take over the message's formatting:
//!
//! - Slack's mrkdwn ([`slack`]): `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;` (Slack's formatting
//!   reference): links, `<!channel>`, `<@U…>` and `<#C…>` all need a `<`.
//! - Markdown, as Mattermost (CommonMark) and Discord read it ([`markdown`]): every ASCII
//!   punctuation character gets a backslash (CommonMark §2.4; Discord's parser takes the same
//!   escapes), so no link `[…](…)`, image `![…](…)`, autolink `<…>`, emphasis, heading, quote,
//!   table, code, HTML, entity, `~channel` link, `#hashtag`, emoji `:name:` or Discord
//!   timestamp/mention `<…>` can start.
//! - Microsoft Teams' Adaptive Card `TextBlock` markup ([`teams`]): a backslash before each
//!   character its Markdown subset or its `{{DATE()}}`/`{{TIME()}}` functions use (`\ * _ [ ] ( )
//!   < > { } ` ~ # ! |`); `<at>` mentions need a `<`.
//!
//! And in all three, two things no escape stops (the servers find them in the raw text, before
//! any Markdown, or the clients link them on their own) are broken with a zero-width space
//! (U+200B, invisible): after every `@` (Mattermost notifies `@channel`, `@all`, `@here` and
//! `@name` found anywhere in the text; an e-mail address stops being a link), after the `:` of
//! every `://` and after the `www` of every `www.` (bare links and their previews).
//!
//! Each function bounds its result to a number of characters (the chat's limit) without
//! cutting an escape in half: what does not fit is replaced by `…`.

/// The zero-width space that breaks mentions and bare links.
pub const BREAK: char = '\u{200B}';

#[derive(Clone, Copy, PartialEq, Eq)]
enum Markup {
    Slack,
    Markdown,
    Teams,
}

/// Remote text for Slack's mrkdwn, at most `max` characters.
pub fn slack(s: &str, max: usize) -> String {
    escape(s, Markup::Slack, max)
}

/// Remote text for Mattermost's and Discord's Markdown, at most `max` characters.
pub fn markdown(s: &str, max: usize) -> String {
    escape(s, Markup::Markdown, max)
}

/// Remote text for a Teams Adaptive Card `TextBlock`, at most `max` characters.
pub fn teams(s: &str, max: usize) -> String {
    escape(s, Markup::Teams, max)
}

/// The characters Teams' `TextBlock` markup gives a meaning.
const TEAMS_SPECIAL: &[char] = &[
    '\\', '*', '_', '[', ']', '(', ')', '<', '>', '{', '}', '`', '~', '#', '!', '|',
];

fn escape(s: &str, markup: Markup, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut pieces: Vec<String> = Vec::with_capacity(chars.len());
    let mut total = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        let mut piece = String::with_capacity(4);
        match (markup, c) {
            (Markup::Slack, '&') => piece.push_str("&amp;"),
            (Markup::Slack, '<') => piece.push_str("&lt;"),
            (Markup::Slack, '>') => piece.push_str("&gt;"),
            (Markup::Markdown, c) if c.is_ascii_punctuation() => {
                piece.push('\\');
                piece.push(c);
            }
            (Markup::Teams, c) if TEAMS_SPECIAL.contains(&c) => {
                piece.push('\\');
                piece.push(c);
            }
            (_, c) => piece.push(c),
        }
        if breaks_after(&chars, i) {
            piece.push(BREAK);
        }
        total += piece.chars().count();
        pieces.push(piece);
    }
    if total <= max {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut n = 0usize;
    for p in pieces {
        let len = p.chars().count();
        if n + len + 1 > max {
            break;
        }
        out.push_str(&p);
        n += len;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// Whether a [`BREAK`] follows `chars[i]`: an `@`, the `:` of `://`, the last `w` of a `www.`
/// that starts a word.
fn breaks_after(chars: &[char], i: usize) -> bool {
    let at = |j: usize| chars.get(j).copied();
    match chars[i] {
        '@' => true,
        ':' => at(i + 1) == Some('/') && at(i + 2) == Some('/'),
        'w' | 'W' => {
            i >= 2
                && at(i + 1) == Some('.')
                && chars[i - 2..=i]
                    .iter()
                    .all(|c| c.eq_ignore_ascii_case(&'w'))
                && (i < 3 || !chars[i - 3].is_alphanumeric())
        }
        _ => false,
    }
}

/// What a hostile backup server can put in an error message.
#[cfg(test)]
pub(crate) const HOSTILE: &str = "refused: @channel @all @here @ops ![x](http://evil.example/p.png) \
         [log in](https://evil.example/login) <https://evil.example/auto> see https://evil.example/a \
         or WWW.evil.example or mail admin@evil.example <!channel> <@U123> <at>Boss</at> **urgent** \
         _it_ `code` ~town #tag :fire: &#64;here {{DATE(2017-02-14T06:08:00Z, SHORT)}} ||spoiler|| \\[x\\](y)\n\
         # heading\n> quote\n- list\n===";

#[cfg(test)]
mod tests {
    use super::*;
    use pulldown_cmark::{Event, Parser, Tag};

    /// The Markdown events a CommonMark parser (what Mattermost renders) makes of `md`.
    fn parsed(md: &str) -> Vec<Event<'_>> {
        Parser::new(md).collect()
    }

    fn plain_text(md: &str) -> String {
        parsed(md)
            .into_iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.to_string()),
                Event::SoftBreak | Event::HardBreak => Some("\n".into()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_attack_works_without_escaping() {
        // The parser sees links, images, emphasis, code and headings in the raw text: what the
        // escape must stop.
        let raw = parsed(HOSTILE);
        assert!(raw
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::Link { .. }))));
        assert!(raw
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::Image { .. }))));
        assert!(raw
            .iter()
            .any(|e| matches!(e, Event::Start(Tag::Heading { .. }))));
    }

    #[test]
    fn markdown_makes_nothing_but_text_and_keeps_every_character() {
        let md = markdown(HOSTILE, usize::MAX);
        for e in parsed(&md) {
            assert!(
                matches!(
                    e,
                    Event::Start(Tag::Paragraph)
                        | Event::End(_)
                        | Event::Text(_)
                        | Event::SoftBreak
                ),
                "{e:?} in {md}"
            );
        }
        // What people read is the original, only with invisible breaks.
        assert_eq!(plain_text(&md).replace(BREAK, ""), HOSTILE);
        for mention in ["@channel", "@all", "@here", "@ops", "admin@evil"] {
            assert!(!md.contains(mention), "{mention} in {md}");
        }
        assert!(
            !md.contains("://") && !md.to_lowercase().contains("www."),
            "{md}"
        );
    }

    #[test]
    fn teams_and_slack_break_their_own_syntax() {
        let t = teams(HOSTILE, usize::MAX);
        for bad in ["](", "![", "<at>", "{{", "**", "@channel", "://", "WWW."] {
            assert!(!t.contains(bad), "{bad} in {t}");
        }
        assert!(
            t.contains("\\[log in\\]\\(https:\u{200B}//evil.example/login\\)"),
            "{t}"
        );
        let s = slack(HOSTILE, usize::MAX);
        for bad in ["<", ">", "@here", "://", "WWW."] {
            assert!(!s.contains(bad), "{bad} in {s}");
        }
        assert!(s.contains("&lt;!channel&gt;"), "{s}");
        assert_eq!(slack("R&D <x>", 100), "R&amp;D &lt;x&gt;");
    }

    #[test]
    fn a_bound_never_cuts_an_escape() {
        for max in 0..40 {
            let md = markdown("[a](b) @c https://d", max);
            assert!(md.chars().count() <= max, "{max}: {md}");
            let before_ellipsis = md.trim_end_matches('…');
            assert!(
                before_ellipsis
                    .chars()
                    .rev()
                    .take_while(|c| *c == '\\')
                    .count()
                    % 2
                    == 0,
                "{max}: a lone backslash would escape what follows: {md}"
            );
        }
        assert_eq!(markdown("abc", 3), "abc");
        assert_eq!(markdown("abcd", 3), "ab…");
        // `www.` only at a word's start; `:` only before `//`.
        assert_eq!(slack("awww.x a:b", 100), "awww.x a:b");
    }
}
