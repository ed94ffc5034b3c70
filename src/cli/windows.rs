//! Going between windows: a console leaves its window for an inbox item's
//! release or for the inbox (`Effect::Leave`), and `shipdeck inbox`'s
//! screen opens the window of the item chosen. Each window is a console of
//! its own, with its own journal; the inbox's list is kept between visits,
//! so coming back shows it at once.

use std::process::ExitCode;

use super::console::{self, Next, Visit};
use crate::inbox::{Place, Sources};
use crate::model::text::Clean;
use crate::settings::{GithubSettings, RemoteSettings, RolloutSettings, Setting, Settings, Source};
use crate::tui::app::Leave;
use crate::tui::inbox::{self, InboxList};
use crate::tui::keymap::KeyMap;
use crate::tui::terminal;

/// Where the settings of a window opened from the inbox came from.
const FROM_INBOX: Source = Source::Flag("the inbox");

/// Goes on from a window until shipdeck is done: to another window, or to
/// the inbox and from there to the window chosen.
pub fn follow(
    next: Next,
    settings: &Settings,
    keymap: KeyMap,
    sources: Option<Sources>,
) -> Result<ExitCode, ExitCode> {
    let mut next = next;
    let mut list = InboxList::default();
    loop {
        next = match next {
            Next::Done(code) => return Ok(code),
            Next::Leave(Leave::Open(place)) => {
                let visit = Visit {
                    inbox: sources.clone(),
                    from_inbox: true,
                };
                match place_window(settings, &keymap, &place, &visit) {
                    Ok(next) => next,
                    // Said on standard error: the operator reads it, then
                    // goes back to the list.
                    Err(_) => {
                        wait_for_enter();
                        Next::Leave(Leave::Inbox)
                    }
                }
            }
            Next::Leave(Leave::Inbox) => {
                let Some(sources) = sources.clone() else {
                    return Ok(ExitCode::SUCCESS);
                };
                match screen(settings, &keymap, sources, &mut list)? {
                    Some(place) => Next::Leave(Leave::Open(place)),
                    None => return Ok(ExitCode::SUCCESS),
                }
            }
        };
    }
}

/// `shipdeck inbox`'s screen, until an item is chosen (its place) or the
/// operator quits (none).
pub fn screen(
    settings: &Settings,
    keymap: &KeyMap,
    sources: Sources,
    list: &mut InboxList,
) -> Result<Option<Place>, ExitCode> {
    let theme = console::theme(settings, "")?;
    console::need_terminal("shipdeck inbox --json")?;
    let _ = super::log_to_file(super::CONSOLE_LOG);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            crate::errln!("shipdeck: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        })?;
    let operator = settings.operator.value.clone();
    let ring = inbox::Ring {
        bell: settings.bell.value,
        notify: settings.notify.value,
    };
    let ending = runtime.block_on(async {
        let mut feeds = crate::inbox::watch(sources, operator);
        let mut guard = terminal::enter()?;
        let ending = inbox::run(&mut guard.terminal, list, &mut feeds, &theme, keymap, ring).await;
        drop(guard);
        ending
    });
    runtime.shutdown_background();
    match ending {
        Ok(inbox::Ending::Open(place)) => Ok(Some(place)),
        Ok(inbox::Ending::Quit) => Ok(None),
        Ok(inbox::Ending::Signal(name, status)) => {
            crate::errln!("shipdeck: stopped by {name}; the terminal is restored");
            Err(ExitCode::from(status))
        }
        Err(err) => {
            crate::errln!("shipdeck: the inbox stopped on an error: {}", Clean(&err));
            Err(ExitCode::FAILURE)
        }
    }
}

/// Opens the window of an inbox item's release: the settings are this
/// run's, with the item's server, Rollout or run as the backend.
fn place_window(
    settings: &Settings,
    keymap: &KeyMap,
    place: &Place,
    visit: &Visit,
) -> Result<Next, ExitCode> {
    let mut settings = settings.clone();
    let configured_rollout = settings.rollout.take().or(settings.file_rollout.take());
    let configured_github = settings.github.take().or(settings.file_github.take());
    settings.remote = None;
    let set = |value: String| Setting {
        value,
        source: FROM_INBOX,
    };
    match place {
        Place::Server { url, release } => {
            settings.remote = Some(RemoteSettings {
                url: set(url.clone()),
                release: Some(set(release.clone())),
                token_file: crate::inbox::token_file(&settings, place).map(|path| Setting {
                    value: path,
                    source: FROM_INBOX,
                }),
                env_token: crate::inbox::env_token(&settings),
            });
        }
        Place::Rollout {
            context,
            namespace,
            name,
        } => {
            settings.rollout = Some(RolloutSettings {
                rollout: set(name.clone()),
                namespace: Some(set(namespace.clone())),
                context: context.clone().map(set),
                promote_gate: configured_rollout.and_then(|r| r.promote_gate),
            });
        }
        Place::Github { repo, run, api_url } => {
            // The configured run's repository keeps what the config says of
            // it (its rollback workflow, its canary, its token file).
            let same = configured_github.filter(|g| g.repo.value.eq_ignore_ascii_case(repo));
            let api_url = api_url
                .clone()
                .unwrap_or_else(|| crate::github::client::GITHUB_API.to_string());
            let token_file = crate::inbox::token_file(&settings, place);
            settings.github = Some(GithubSettings {
                repo: set(repo.clone()),
                workflow: None,
                branch: None,
                run: Some(Setting {
                    value: *run,
                    source: FROM_INBOX,
                }),
                api_url: set(api_url),
                token_file: token_file
                    .map(|path| Setting {
                        value: path,
                        source: FROM_INBOX,
                    })
                    .or_else(|| same.as_ref().and_then(|g| g.token_file.clone())),
                rollback: same.as_ref().and_then(|g| g.rollback.clone()),
                canary: same.as_ref().and_then(|g| g.canary.clone()),
            });
        }
    }
    console::window(
        &settings,
        keymap.clone(),
        Vec::new(),
        &super::SimArgs::default(),
        visit,
    )
}

/// After a window could not be opened: its reason is on the screen; the
/// operator goes back to the inbox when they have read it.
fn wait_for_enter() {
    crate::errln!("shipdeck: press Enter to go back to the inbox");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}
