"""What crosses the network: the engine once per browser until it changes, however many
components and reloads, and each unchanged model once (component/src/content_cache.ts)."""

from __future__ import annotations

from playwright.sync_api import Page

from helpers import COMPONENT_IFRAME, StreamlitServer


def load_quick_start(page: Page, server: StreamlitServer, reload: bool) -> None:
    """The demo's first page: three components, two models; done when every one is ready."""
    page.reload() if reload else page.goto(server.url)
    page.locator(".st-key-tensor_result").get_by_text("Predicted digit").wait_for(timeout=60_000)
    for nth in (1, 2):
        picker = page.frame_locator(COMPONENT_IFRAME).nth(nth).frame_locator("#sandbox").locator("#status[data-kind=ready]")
        picker.wait_for(timeout=60_000)


def test_the_engine_and_each_model_cross_the_network_once_per_browser(page: Page, demo_server: StreamlitServer) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    for reload in (False, True, True):
        load_quick_start(page, demo_server, reload)
    engine = [u for u in urls if u.endswith("/engine/engine.wasm")]
    models = [u for u in urls if "/media/" in u and "/static/" not in u]  # Streamlit's media endpoint, not its fonts
    # Three components on each of three loads: without the cache, nine of each.
    assert len(engine) == 1, engine
    assert len(models) == 2, models
    # The control: a fresh browser context (another browser, as far as storage goes) downloads again.
    other = page.context.browser.new_context().new_page()
    fresh: list[str] = []
    other.on("request", lambda request: fresh.append(request.url))
    load_quick_start(other, demo_server, False)
    assert len([u for u in fresh if u.endswith("/engine/engine.wasm")]) == 1
    other.context.close()
