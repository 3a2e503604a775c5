/**
 * One way to measure scrolling in the Label Review list, shared by the panel benchmark (plain Chromium) and the
 * 10,000-row end-to-end flow (code-server), so both report frame times measured the same way.
 */

export interface ScrollTiming {
  /** Milliseconds between consecutive frames while scrolling. */
  times: number[];
  /** Row elements in the list after scrolling to the bottom (the list is virtualised: this stays small). */
  rowsInDom: number;
}

/** A script for `page.evaluate` / `frame.evaluate`: scrolls #list top to bottom in `steps` steps, one per frame. */
export function scrollThroughListScript(steps: number): string {
  return `(async () => {
      const list = document.getElementById('list');
      const times = [];
      const step = (list.scrollHeight - list.clientHeight) / ${steps};
      let last = performance.now();
      for (let i = 1; i <= ${steps}; i++) {
        list.scrollTop = step * i;
        await new Promise((done) => requestAnimationFrame(() => done(undefined)));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      return { times, rowsInDom: document.querySelectorAll('#list .row').length };
    })()`;
}
