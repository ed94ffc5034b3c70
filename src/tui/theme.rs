//! Themes as terminal styles: the bundled YAML files, a user's file, and
//! `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

use crate::theme::{BUNDLED, StyleFile, ThemeFile, parse};

/// Named styles, one per kind of thing on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub header: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub muted: Style,
    pub selected: Style,
    pub key_hint: Style,
    pub stage_pending: Style,
    pub stage_running: Style,
    pub stage_waiting: Style,
    pub stage_succeeded: Style,
    pub stage_failed: Style,
    pub stage_skipped: Style,
    pub canary: Style,
    pub stable: Style,
    pub threshold: Style,
    pub alert: Style,
    pub log_trace: Style,
    pub log_debug: Style,
    pub log_info: Style,
    pub log_warn: Style,
    pub log_error: Style,
    pub accepted: Style,
    pub refused: Style,
    pub danger: Style,
    pub replay: Style,
}

fn colour(text: &str) -> Option<Color> {
    let t = text.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "dark_gray" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let v = u32::from_str_radix(&hex[1..], 16).ok()?;
            Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
        }
        index => Color::Indexed(index.parse().ok()?),
    })
}

fn style(file: &StyleFile, no_color: bool) -> Style {
    let mut style = Style::default();
    if !no_color {
        if let Some(fg) = file.fg.as_ref().and_then(|c| colour(&c.value)) {
            style = style.fg(fg);
        }
        if let Some(bg) = file.bg.as_ref().and_then(|c| colour(&c.value)) {
            style = style.bg(bg);
        }
    }
    let flags = [
        (file.bold, Modifier::BOLD),
        (file.italic, Modifier::ITALIC),
        (file.dim, Modifier::DIM),
        (file.underlined, Modifier::UNDERLINED),
        // Without colour, a background becomes reverse video so it still shows.
        (
            file.reversed || (no_color && file.bg.is_some()),
            Modifier::REVERSED,
        ),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

impl Theme {
    /// The default theme, built in.
    pub fn default_theme(no_color: bool) -> Theme {
        let file = parse(BUNDLED[0].1).expect("the bundled default theme is valid");
        let mut theme = Theme::blank();
        theme.overlay(&file, no_color);
        theme
    }

    fn blank() -> Theme {
        let s = Style::default();
        Theme {
            name: String::new(),
            base: s,
            header: s,
            border: s,
            border_focused: s,
            title: s,
            muted: s,
            selected: s,
            key_hint: s,
            stage_pending: s,
            stage_running: s,
            stage_waiting: s,
            stage_succeeded: s,
            stage_failed: s,
            stage_skipped: s,
            canary: s,
            stable: s,
            threshold: s,
            alert: s,
            log_trace: s,
            log_debug: s,
            log_info: s,
            log_warn: s,
            log_error: s,
            accepted: s,
            refused: s,
            danger: s,
            replay: s,
        }
    }

    /// Applies the styles a theme file names; the others stay as they are.
    pub fn overlay(&mut self, file: &ThemeFile, no_color: bool) {
        self.name = file.name.clone();
        for (slot, spec) in &file.styles {
            let value = if no_color && slot == "base" {
                Style::default() // the terminal's own colours
            } else {
                style(&spec.value, no_color)
            };
            let target = match slot.as_str() {
                "base" => &mut self.base,
                "header" => &mut self.header,
                "border" => &mut self.border,
                "border_focused" => &mut self.border_focused,
                "title" => &mut self.title,
                "muted" => &mut self.muted,
                "selected" => &mut self.selected,
                "key_hint" => &mut self.key_hint,
                "stage_pending" => &mut self.stage_pending,
                "stage_running" => &mut self.stage_running,
                "stage_waiting" => &mut self.stage_waiting,
                "stage_succeeded" => &mut self.stage_succeeded,
                "stage_failed" => &mut self.stage_failed,
                "stage_skipped" => &mut self.stage_skipped,
                "canary" => &mut self.canary,
                "stable" => &mut self.stable,
                "threshold" => &mut self.threshold,
                "alert" => &mut self.alert,
                "log_trace" => &mut self.log_trace,
                "log_debug" => &mut self.log_debug,
                "log_info" => &mut self.log_info,
                "log_warn" => &mut self.log_warn,
                "log_error" => &mut self.log_error,
                "accepted" => &mut self.accepted,
                "refused" => &mut self.refused,
                "danger" => &mut self.danger,
                "replay" => &mut self.replay,
                _ => continue, // `check` reports unknown slots
            };
            *target = value;
        }
    }

    /// Loads a theme by bundled name or file path, over the default.
    pub fn load(name_or_path: &str, no_color: bool) -> Result<Theme, String> {
        let text = match BUNDLED.iter().find(|(n, _)| *n == name_or_path) {
            Some((_, text)) => text.to_string(),
            None => crate::files::read_text(std::path::Path::new(name_or_path)).map_err(|err| {
                let names: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
                format!(
                    "no theme named \"{name_or_path}\" and cannot read it as a file ({err}); bundled themes: {}",
                    names.join(", ")
                )
            })?,
        };
        let file = parse(&text).map_err(|problems| {
            problems
                .iter()
                .map(|p| format!("{name_or_path}:{}:{}: {}", p.line, p.column, p.message))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let mut theme = Theme::default_theme(no_color);
        theme.overlay(&file, no_color);
        Ok(theme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_theme_loads_over_the_default() {
        for (name, _) in BUNDLED {
            let theme = Theme::load(name, false).unwrap();
            assert_eq!(&theme.name, name);
        }
        let production = Theme::load("production", false).unwrap();
        let default = Theme::default_theme(false);
        assert_ne!(
            production.header, default.header,
            "production has a danger header"
        );
        assert_eq!(production.log_info, default.log_info, "and keeps the rest");
    }

    #[test]
    fn no_color_keeps_emphasis_and_drops_colour() {
        let theme = Theme::default_theme(true);
        assert_eq!(theme.log_error.fg, None);
        assert!(theme.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(theme.title.add_modifier.contains(Modifier::BOLD));
    }
}
