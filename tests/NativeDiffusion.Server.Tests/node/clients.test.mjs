// Real Node clients against a running NativeDiffusion server (started by NodeClientTests, which sets the variables):
// the official `openai` package and the Vercel AI SDK with its OpenAI-compatible provider. No retries: every answer counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { generateImage } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const baseURL = new URL("v1", process.env.ND_SERVER_URL).toString();
const apiKey = process.env.ND_API_KEY;
const model = process.env.ND_MODEL;
assert.ok(process.env.ND_SERVER_URL && apiKey && model, "ND_SERVER_URL, ND_API_KEY and ND_MODEL must be set");

/** The width and height in a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes) {
  const buffer = Buffer.from(bytes);
  assert.deepEqual([...buffer.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "not a PNG");
  return [buffer.readUInt32BE(16), buffer.readUInt32BE(20)];
}

const openai = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

test("openai: images.generate returns b64_json PNGs of the requested size", async () => {
  const result = await openai.images.generate({ model, prompt: "a paper boat", n: 2, size: "64x64" });
  assert.equal(typeof result.created, "number");
  assert.equal(result.data.length, 2);
  for (const image of result.data) {
    assert.deepEqual(pngSize(Buffer.from(image.b64_json, "base64")), [64, 64]);
  }
});

test("openai: response_format url is a 400 naming the parameter", async () => {
  await assert.rejects(
    openai.images.generate({ model, prompt: "x", response_format: "url" }),
    (error) => error instanceof OpenAI.BadRequestError && error.status === 400 && error.param === "response_format",
  );
});

test("openai: an unknown model is a 400 naming the parameter", async () => {
  await assert.rejects(
    openai.images.generate({ model: "dall-e-3", prompt: "x" }),
    (error) => error instanceof OpenAI.BadRequestError && error.param === "model" && /dall-e-3/.test(error.message),
  );
});

test("openai: a wrong API key is a 401", async () => {
  const stranger = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(stranger.images.generate({ model, prompt: "x" }), (error) => error instanceof OpenAI.AuthenticationError);
});

const provider = createOpenAICompatible({ name: "nativediffusion", baseURL, apiKey });

test("ai sdk: generateImage returns PNGs, the same for the same seed", async () => {
  const generate = () =>
    generateImage({
      model: provider.imageModel(model),
      prompt: "a lantern",
      n: 2,
      size: "64x64",
      maxRetries: 0,
      providerOptions: { nativediffusion: { seed: 42 } },
    });
  const first = await generate();
  assert.equal(first.images.length, 2);
  for (const image of first.images) {
    assert.equal(image.mediaType, "image/png");
    assert.deepEqual(pngSize(image.uint8Array), [64, 64]);
  }
  assert.notEqual(first.images[0].base64, first.images[1].base64);
  const second = await generate();
  assert.equal(second.images[0].base64, first.images[0].base64);
});

test("ai sdk: an unknown model rejects with the server's 400", async () => {
  await assert.rejects(
    generateImage({ model: provider.imageModel("sdxl"), prompt: "x", size: "64x64", maxRetries: 0 }),
    (error) => error.statusCode === 400 && /sdxl/.test(error.message),
  );
});
