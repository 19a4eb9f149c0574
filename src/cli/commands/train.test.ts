/**
 * What a user sees from `pedgpt train` and `pedgpt pipeline` on bad input: the file and line of a
 * recipe mistake with the nearest key, an unsupported LLaMA-Factory key said so, a missing dataset
 * named, and `pipeline status` on a folder where nothing ran.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../../test/helpers/cli.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

const tmp = tempDir("pedgpt-train-cli-");

describe("pedgpt train / pipeline", () => {
  it("names the recipe line and the nearest key, and refuses unsupported keys", async () => {
    const f = join(tmp, "r.yaml");
    writeFileSync(f, "stage: sft\nmodel_name_or_path: m\noutput_dir: o\ndataset: a\nnum_train_epoch: 3\n");
    let r = await cli("train", f);
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/r\.yaml:5: unknown key "num_train_epoch"; did you mean "num_train_epochs"\?/);
    writeFileSync(f, "stage: sft\nmodel_name_or_path: m\noutput_dir: o\ndataset: a\ndeepspeed: ds.json\n");
    r = await cli("train", f);
    expect(r.err).toMatch(/LLaMA-Factory key "deepspeed" is not supported/);
    writeFileSync(f, `stage: sft\nmodel_name_or_path: ${join(tmp, "nomodel")}\noutput_dir: o\ndataset: a\n`);
    r = await cli("train", f);
    expect(r.err).toMatch(/model_name_or_path .*nomodel does not exist/);
  });

  it("pipeline status says when nothing ran", async () => {
    const r = await cli("pipeline", "status", tmp);
    expect(r.rc).toBe(0);
    expect(r.out).toMatch(/no manifest\.json \(the pipeline has not run here\)/);
  });
});
