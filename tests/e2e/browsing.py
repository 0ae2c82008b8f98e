"""What every browser test does: check each page with axe, and move by keyboard alone."""

from __future__ import annotations

from typing import Any

from .conftest import AXE

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


class Browsing:
    """One user's browser tab. `visited` lists every page checked with axe."""

    def __init__(self, browser: Any, base: str) -> None:
        # bypass_csp lets axe be injected; the pages' own CSP is tested elsewhere.
        self.context = browser.new_context(bypass_csp=True, base_url=base)
        self.page = self.context.new_page()
        self.visited: list[str] = []

    def close(self) -> None:
        self.context.close()

    def check(self) -> None:
        """No WCAG 2.2 A/AA violations on the page as it stands."""
        page = self.page
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(path=str(AXE))  # unless the context loads it on every page
        result = page.evaluate(
            "async (tags) => await axe.run(document, "
            "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"]
        ]
        assert not problems, f"axe on {page.url}:\n" + "\n".join(problems)
        self.visited.append(page.url)

    def go(self, path: str) -> None:
        self.page.goto(path)
        self.check()

    # -- keyboard alone ------------------------------------------------------------------

    def tab_to(self, selector: str, limit: int = 80) -> None:
        """Press Tab until the element matching `selector` has focus."""
        page = self.page
        for _ in range(limit):
            if page.evaluate(
                "(sel) => !!document.activeElement && document.activeElement.matches(sel)",
                selector,
            ):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"could not reach {selector} with the Tab key")

    def key_follow(self, selector: str) -> None:
        """Tab to a link or button and press Enter; wait for the next page and check it."""
        self.tab_to(selector)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        self.check()

    def key_radio(self, name: str, value: str, limit: int = 40) -> None:
        """Tab into a radio group, then use the arrow keys (which select) to reach `value`."""
        page = self.page
        self.tab_to(
            f"input[type='radio'][name='{name}']:checked, input[type='radio'][name='{name}']"
        )
        for _ in range(limit):
            if page.evaluate("(v) => document.activeElement.value === v", value):
                if not page.is_checked(f"input[name='{name}'][value='{value}']"):
                    page.keyboard.press("Space")  # the first radio is focused, not chosen
                assert page.is_checked(f"input[name='{name}'][value='{value}']")
                return
            page.keyboard.press("ArrowDown")
        raise AssertionError(f"could not reach {name}={value} with the arrow keys")

    def key_type(self, selector: str, text: str) -> None:
        self.tab_to(selector)
        self.page.keyboard.type(text)

    def key_choose(self, selector: str) -> None:
        """Tab to a radio or checkbox and press Space."""
        self.tab_to(selector)
        self.page.keyboard.press("Space")

    # -- pointer, for the flows not driven by keyboard ----------------------------------

    def click(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.click(selector)
        self.check()

    def text(self) -> str:
        return str(self.page.inner_text("main"))
