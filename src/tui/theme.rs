//! Themes as terminal styles: the bundled YAML files, a user's file, and
//! `NO_COLOR`.

use std::ops::Index;

use ratatui::style::{Color, Modifier, Style};
use strum::EnumCount;

use crate::theme::{BUNDLED, Checked, Colour, Slot, StyleSpec, parse};

/// Named styles, one per slot: one per kind of thing on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: [Style; Slot::COUNT],
}

impl Index<Slot> for Theme {
    type Output = Style;

    fn index(&self, slot: Slot) -> &Style {
        &self.styles[slot as usize]
    }
}

/// A theme's colour as the terminal's: a name as ratatui reads it (every
/// name a theme may use is one of ratatui's; a test checks each).
fn color(colour: Colour) -> Color {
    match colour {
        Colour::Named(name) => <&str>::from(name).parse().unwrap_or(Color::Reset),
        Colour::Rgb(r, g, b) => Color::Rgb(r, g, b),
        Colour::Indexed(i) => Color::Indexed(i),
    }
}

fn style(spec: &StyleSpec, no_color: bool) -> Style {
    let mut style = Style::default();
    if !no_color {
        if let Some(fg) = spec.fg {
            style = style.fg(color(fg));
        }
        if let Some(bg) = spec.bg {
            style = style.bg(color(bg));
        }
    }
    let flags = [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.dim, Modifier::DIM),
        (spec.underlined, Modifier::UNDERLINED),
        // Without colour, a background becomes reverse video so it still shows.
        (
            spec.reversed || (no_color && spec.bg.is_some()),
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
        let mut theme = Theme {
            name: String::new(),
            styles: [Style::default(); Slot::COUNT],
        };
        theme.overlay(&file, no_color);
        theme
    }

    /// Applies the styles a theme sets; the others stay as they are.
    pub fn overlay(&mut self, file: &Checked, no_color: bool) {
        self.name = file.name.clone();
        for (&slot, spec) in &file.styles {
            self.styles[slot as usize] = if no_color && slot == Slot::Base {
                Style::default() // the terminal's own colours
            } else {
                style(spec, no_color)
            };
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
    fn every_colour_name_is_a_colour_of_the_terminal() {
        use crate::theme::ColourName;
        use strum::IntoEnumIterator;
        let mut seen = Vec::new();
        for name in ColourName::iter() {
            let spelled: &str = name.into();
            let colour: Color = spelled.parse().expect(spelled);
            assert!(
                !matches!(colour, Color::Indexed(_) | Color::Rgb(..)),
                "{spelled} is one of the named colours"
            );
            assert!(!seen.contains(&colour), "{spelled} names its own colour");
            seen.push(colour);
        }
        assert_eq!(color(Colour::Named(ColourName::DarkGray)), Color::DarkGray);
    }

    #[test]
    fn every_bundled_theme_loads_over_the_default() {
        for (name, _) in BUNDLED {
            let theme = Theme::load(name, false).unwrap();
            assert_eq!(&theme.name, name);
        }
        let production = Theme::load("production", false).unwrap();
        let default = Theme::default_theme(false);
        assert_ne!(
            production[Slot::Header],
            default[Slot::Header],
            "production has a danger header"
        );
        assert_eq!(
            production[Slot::LogInfo],
            default[Slot::LogInfo],
            "and keeps the rest"
        );
    }

    #[test]
    fn no_color_keeps_emphasis_and_drops_colour() {
        let theme = Theme::default_theme(true);
        assert_eq!(theme[Slot::LogError].fg, None);
        assert_eq!(theme[Slot::Base], Style::default());
        assert!(
            theme[Slot::Selected]
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(theme[Slot::Title].add_modifier.contains(Modifier::BOLD));
    }
}
