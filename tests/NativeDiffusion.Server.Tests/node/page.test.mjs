// The sample page in headless Chromium (Debian's chromium, driven by puppeteer-core, which downloads no browser):
// it lists the samplers, generates with live previews from /sdapi/v1/progress, then shows and offers the result.
import { test } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const url = process.env.ND_SERVER_URL;
const executablePath = process.env.ND_CHROMIUM;
assert.ok(url && executablePath, "ND_SERVER_URL and ND_CHROMIUM must be set");

test("page: generates with previews, then shows and offers the image", async () => {
  const browser = await puppeteer.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(url, { waitUntil: "load" });

    await page.waitForFunction(() => document.querySelectorAll("#sampler option").length >= 9);
    const samplers = await page.$$eval("#sampler option", (options) => options.map((o) => o.value));
    assert.ok(samplers.includes("Euler a") && samplers.includes("DPM++ 2M"), samplers.join(", "));

    await page.$eval("#prompt", (e) => { e.value = "a red kite"; });
    await page.select("#sampler", "Euler");
    await page.select("#size", "64x64");
    await page.$eval("#steps", (e) => { e.value = "400"; }); // long enough for the page's polls to catch previews
    await page.$eval("#seed", (e) => { e.value = "123"; });
    await page.click("#generate");

    await page.waitForFunction(() => !document.querySelector("#preview").hidden && document.querySelector("#preview").src.startsWith("data:image/png;base64,"), { timeout: 120000 });
    const stepText = await page.$eval("#progress-text", (e) => e.textContent);
    assert.match(stepText, /Step \d+ of 400|Waiting/);

    await page.waitForFunction(() => !document.querySelector("#output").hidden, { timeout: 120000 });
    const result = await page.$eval("#result", (img) => ({ src: img.src, width: img.naturalWidth, height: img.naturalHeight }));
    assert.ok(result.src.startsWith("data:image/png;base64,"));
    assert.deepEqual([result.width, result.height], [64, 64]);
    const download = await page.$eval("#download", (a) => ({ href: a.href, name: a.download }));
    assert.equal(download.href, result.src);
    assert.equal(download.name, "nativediffusion-123.png");
    assert.equal(await page.$eval("#error", (e) => e.textContent), "");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
