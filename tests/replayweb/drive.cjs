// Drives headless Chromium with puppeteer-core through ReplayWeb.page for
// tests/it/interop_replayweb.rs (issue #20): for each timestamp, opens the host page that embeds
// <replay-web-page ts=…>, waits (polling, within a deadline) for the replayed page's frame to
// finish loading, and reports what the test checks there: the computed style the stylesheet
// sets, every image's natural width, the mark the page's script leaves, and every error the
// page logged. Prints one JSON array on stdout. A test tool only, never shipped.
//
// Usage: node drive.cjs '<json config>'
//   {puppeteer, chromium, host, page, timestamps: [ts14…], styled, deadlineMs}
"use strict";

const config = JSON.parse(process.argv[2]);
const puppeteer = require(config.puppeteer);

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What the replayed page shows, read inside its frame.
function inspect(styled) {
  const element = document.getElementById(styled);
  const images = [...document.images].map((img) => ({
    src: img.getAttribute("src"),
    complete: img.complete,
    naturalWidth: img.naturalWidth,
  }));
  return {
    readyState: document.readyState,
    title: document.title,
    color: element ? getComputedStyle(element).color : null,
    images,
    script: document.body ? document.body.getAttribute("data-script") : null,
  };
}

async function replayAt(browser, ts) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error && error.message ? error.message : error}`));
  page.on("console", (message) => {
    if (message.type() === "error") {
      errors.push(`console: ${message.text()}`);
    }
  });
  // A failed request names its URL (the console's "Failed to load resource" does not).
  page.on("response", (response) => {
    if (response.status() >= 400) {
      errors.push(`http ${response.status()}: ${response.url()}`);
    }
  });
  const host = `${config.host}/index.html?ts=${ts}&url=${encodeURIComponent(config.page)}`;
  await page.goto(host, { waitUntil: "load" });
  const deadline = Date.now() + config.deadlineMs;
  let found = null;
  let state = null;
  // The replay frame is ReplayWeb.page's innermost one: its URL holds `<ts>mp_/<page>`.
  while (Date.now() < deadline) {
    found = page.frames().find((frame) => frame.url().includes(`mp_/${config.page}`));
    if (found) {
      try {
        state = await found.evaluate(inspect, config.styled);
      } catch (e) {
        // The frame navigated or went away while we looked: look again.
        state = null;
      }
      const settled = state && state.readyState === "complete" && state.images.every((img) => img.complete);
      if (settled && state.color !== null) {
        break;
      }
    }
    await pause(100);
  }
  const frames = page.frames().map((frame) => frame.url());
  await context.close();
  return { ts, frame: found ? found.url() : null, state, errors, frames };
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: config.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
  });
  const results = [];
  try {
    for (const ts of config.timestamps) {
      results.push(await replayAt(browser, ts));
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(2);
});
