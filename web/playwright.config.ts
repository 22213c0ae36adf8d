// The browser tests (`npm run e2e`, or `crates/plaza-server/tests/api/web.rs` from cargo test):
// @playwright/test's runner driving Debian's Chromium. No browser is ever downloaded: the
// binary is `CHROMIUM_PATH` or the `chromium` on the PATH. Settings come from the
// environment (see README.md, "End-to-end tests").
import { execFileSync } from 'node:child_process';

import { defineConfig } from '@playwright/test';

function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const executablePath = chromiumPath();
if (!executablePath) throw new Error("e2e: no Chromium found; install Debian's `chromium` package or set CHROMIUM_PATH");
if (!process.env.PLAZA_URL) throw new Error('e2e: set PLAZA_URL to a Plaza server that serves the web UI (e.g. http://127.0.0.1:8080)');

/** Actions and waits give up after this long, as a person would. */
const TIMEOUT = 15_000;

export default defineConfig({
  testDir: 'e2e',
  // One browser at a time: the scenarios are long and the server is shared.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: TIMEOUT },
  outputDir: process.env.PLAZA_E2E_RESULTS || 'test-results',
  reporter: [['list'], ['html', { outputFolder: process.env.PLAZA_E2E_REPORT || 'playwright-report', open: 'never' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    actionTimeout: TIMEOUT,
    navigationTimeout: TIMEOUT,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath,
      // Containers and CI machines: no sandbox, a small /dev/shm, no calls home. Meetings:
      // fake camera, microphone and screen (no permission prompts), host candidates with
      // real addresses rather than mDNS names, and remote audio that plays without a click.
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--auto-select-desktop-capture-source=Entire screen',
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
});
