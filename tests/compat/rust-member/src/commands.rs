//! Commands from the test, one a line on stdin: "status" and "close".
//! A closed stdin (the test is gone) and SIGTERM close the member too.
//!
//! A close also wakes the poll loop (`close_requested`), so it does not
//! wait for a poll to end; a status waits, as in the Java driver.

use std::io::BufRead;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Status,
    Close,
}

pub struct Commands {
    received: mpsc::UnboundedReceiver<Command>,
    close: Arc<Notify>,
}

impl Commands {
    /// Starts reading stdin (on a thread of its own: it blocks) and
    /// waiting for SIGTERM. Call inside the runtime.
    pub fn listen() -> std::io::Result<Commands> {
        let (sender, received) = mpsc::unbounded_channel();
        let close = Arc::new(Notify::new());
        let mut terminate = signal(SignalKind::terminate())?;
        let on_signal = Sender {
            sender: sender.clone(),
            close: close.clone(),
        };
        tokio::spawn(async move {
            if terminate.recv().await.is_some() {
                on_signal.send(Command::Close);
            }
        });
        let from_stdin = Sender {
            sender,
            close: close.clone(),
        };
        std::thread::Builder::new()
            .name("stdin-commands".to_string())
            .spawn(move || from_stdin.read_stdin())?;
        Ok(Commands { received, close })
    }

    /// The next command already received, if any.
    pub fn next(&mut self) -> Option<Command> {
        self.received.try_recv().ok()
    }

    /// Resolves once a close has been asked for (at once if it already
    /// was: `Notify` keeps the permit).
    pub async fn close_requested(&self) {
        self.close.notified().await;
    }
}

struct Sender {
    sender: mpsc::UnboundedSender<Command>,
    close: Arc<Notify>,
}

impl Sender {
    fn send(&self, command: Command) {
        // The receiver lives as long as the poll loop; after it is gone
        // nobody needs the command.
        let _ = self.sender.send(command);
        if command == Command::Close {
            self.close.notify_one();
        }
    }

    fn read_stdin(self) {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.trim() {
                "status" => self.send(Command::Status),
                "close" => self.send(Command::Close),
                _ => {} // unknown commands are ignored, as by the other drivers
            }
        }
        self.send(Command::Close);
    }
}
