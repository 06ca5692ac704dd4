//! Entry point: mount the chat page.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(frontend::ui::app::App);
}
