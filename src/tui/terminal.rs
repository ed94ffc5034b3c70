//! Entering and leaving the terminal's full-screen mode, so that nothing —
//! a quit, an error, a panic, a signal — leaves it broken.

use std::io::{self, Stdout, stdout};

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back: raw mode off, main screen, cursor visible. Safe
/// to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, Show);
}

/// Restores the terminal when dropped, however the console ends.
pub struct Guard {
    pub terminal: Term,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Enters raw mode and the alternate screen, with a panic hook that restores
/// the terminal before the panic is reported.
pub fn enter() -> io::Result<Guard> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    if let Err(err) = execute!(stdout(), EnterAlternateScreen) {
        restore();
        return Err(err);
    }
    match Terminal::new(CrosstermBackend::new(stdout())) {
        Ok(mut terminal) => {
            let _ = terminal.hide_cursor();
            // Cleared directly: `Terminal::clear` first asks the terminal
            // where its cursor is and waits up to two seconds for the answer,
            // which a slow link or a terminal that does not answer turns into
            // a slow start.
            let _ = execute!(stdout(), Clear(ClearType::All));
            Ok(Guard { terminal })
        }
        Err(err) => {
            restore();
            Err(err)
        }
    }
}
