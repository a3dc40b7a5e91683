using System.Text.Json;
using TorchSharp.PyBridge;
using WeSaR.Model;
using WeSaR.Model.Checkpoints;
using WeSaR.Model.Init;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WeSaR.Cli.Tests;

/// <summary>
/// `wesar export` and `wesar sample` on a run that `wesar train` made: the files are read back and the models they
/// build are checked against the checkpointed model, logit for logit.
/// </summary>
public sealed class ExportSampleTests(ExportSampleTests.TrainedRun run, ITestOutputHelper output) : IClassFixture<ExportSampleTests.TrainedRun>
{
    const int Block = 32;

    /// <summary>
    /// One run for the class, with WeSaR gates and every optional part of the model (sqrt(d)-scaled and
    /// layer-normed embeddings, QK-norm), checkpoints at steps 3 and 6.
    /// </summary>
    public sealed class TrainedRun : IDisposable
    {
        public readonly TempDir Dir = TestEnv.NewTempDir();
        public string Work => Dir.Path;
        public string Run => Path.Combine(Dir.Path, "run");

        public TrainedRun()
        {
            var r = Wesar.Run(["--workdir", Work, "train", "--config", TestEnv.TinyPreset,
                .. new[] { $"data.path={TestEnv.Corpus}", $"run.dir={Run}", "init.scheme=embed-ln(scaled-embed(wesar(he)))", "model.qk-norm=on",
                    "model.n-layer=2", "model.d-model=64", $"model.block-size={Block}", "train.batch-size=4", "train.steps=6",
                    "train.eval-interval=3", "train.eval-batches=2", "train.measure-interval=0", "checkpoint.interval=3",
                    "checkpoint.keep-last=5", "optim.warmup-steps=2", "run.threads=1" }.SelectMany(s => new[] { "--set", s })]);
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        }

        public void Dispose() => Dir.Dispose();
    }

    Wesar.Result Ok(params string[] args)
    {
        var r = Wesar.Run(["--workdir", run.Work, .. args]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    /// <summary>The model of a checkpoint, loaded the way the trainer loads it.</summary>
    static Gpt Checkpointed(string runDir, long step)
    {
        var c = CheckpointStore.Load(Path.Combine(runDir, TrainingRun.CheckpointDir, CheckpointStore.FolderName(step)));
        var state = Trainer.State(c);
        var model = Gpt.Seeded(state.Model, InitScheme.Parse(state.Scheme), state.Seed);
        StateBytes.Load(model, c.File(Trainer.ModelFile));
        model.eval();
        return model;
    }

    static JsonElement ConfigJson(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))).RootElement;

    /// <summary>A model built from config.json alone, with the weights PyBridge reads from model.safetensors (every one, no more).</summary>
    static Gpt FromExport(string dir)
    {
        var c = ConfigJson(dir);
        int I(string key) => c.GetProperty(key).GetInt32();
        bool B(string key) => c.GetProperty(key).GetBoolean();
        var scheme = InitScheme.Parse("he") with
        {
            Reparam = B("gated") && !B("gates_folded") ? Reparam.Trainable : Reparam.None, ScaledEmbed = B("scaled_embed"), EmbedNorm = B("embed_norm"),
        };
        var model = Gpt.Seeded(new GptConfig(I("vocab_size"), I("block_size"), I("n_layer"), I("n_head"), I("d_model"), QkNorm: B("qk_norm")), scheme, 0);
        var weights = Safetensors.LoadStateDict(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(model.state_dict().Keys.Order(), weights.Keys.Order());
        model.load_state_dict(weights);
        model.eval();
        return model;
    }

    /// <summary>Two windows of the corpus as byte tokens, (2, block).</summary>
    static long[][] Input()
    {
        var bytes = File.ReadAllBytes(TestEnv.Corpus);
        return [bytes[..Block].Select(b => (long)b).ToArray(), bytes[5000..(5000 + Block)].Select(b => (long)b).ToArray()];
    }

    static float[] Logits(Gpt model)
    {
        using var _ = no_grad();
        using var x = tensor(Input().SelectMany(r => r).ToArray()).view(2, Block);
        return model.call(x).data<float>().ToArray();
    }

    static double MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
    }

    [Theory]
    [InlineData("fold", null)]
    [InlineData("keep", null)]
    [InlineData("fold", 3L)]
    [InlineData("keep", 3L)]
    public void The_export_builds_a_model_with_the_checkpointed_models_logits_at_the_newest_or_the_given_step(string gates, long? step)
    {
        var dir = Path.Combine(run.Work, $"export-{gates}-{step}");
        var args = new List<string> { "export", run.Run, "--gates", gates, "--out", dir, "--json" };
        if (step is not null) args.AddRange(["--step", step.ToString()!]);
        var printed = Ok([.. args]).Json();
        var expected = step ?? 6;
        Assert.Equal(expected, printed.GetProperty("step").GetInt64());
        var config = ConfigJson(dir);
        Assert.Equal(expected, config.GetProperty("step").GetInt64());
        Assert.Equal(gates == "fold", config.GetProperty("gates_folded").GetBoolean());
        Assert.Equal("byte", config.GetProperty("tokenizer").GetString());

        using var saved = Checkpointed(run.Run, expected);
        using var exported = FromExport(dir);
        var diff = MaxDiff(Logits(saved), Logits(exported));
        output.WriteLine($"gates {gates}, step {expected}: max |logit difference| export vs checkpoint = {diff:E3}");
        // Kept gates compute exactly what training computes; folding rounds alpha*W once, so the logits move by float error only.
        if (gates == "keep") Assert.Equal(0, diff);
        else Assert.InRange(diff, 0, 1e-4);
        using var other = Checkpointed(run.Run, expected == 6 ? 3 : 6);
        Assert.True(MaxDiff(Logits(other), Logits(exported)) > 1e-3, "the two checkpoints should differ");
    }

    [Fact]
    public void Without_out_the_export_goes_under_the_work_folder_named_by_run_folder_and_step()
    {
        var printed = Ok("export", run.Run, "--json").Json();
        var dir = Path.Combine(run.Work, "exports", "run", "step-6");
        Assert.Equal([Path.Combine(dir, "model.safetensors"), Path.Combine(dir, "config.json")],
            printed.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
    }

    [Fact]
    public void A_sample_is_the_same_for_a_seed_and_has_as_many_tokens_as_asked()
    {
        JsonElement Sample(string seed, string tokens) => Ok("sample", run.Run, "--seed", seed, "--tokens", tokens, "--json").Json();
        List<int> Tokens(JsonElement e) => e.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToList();
        var a = Sample("5", "40");
        Assert.Equal(40, Tokens(a).Count);
        Assert.Equal(Tokens(a), Tokens(Sample("5", "40")));
        Assert.NotEqual(Tokens(a), Tokens(Sample("6", "40")));
        Assert.Equal(7, Tokens(Sample("5", "7")).Count);
        // The plain output is the decoded prompt and sample.
        Assert.Equal(a.GetProperty("text").GetString() + "\n", Ok("sample", run.Run, "--seed", "5", "--tokens", "40").Stdout);
    }

    [Fact]
    public void Temperature_zero_and_top_k_one_both_give_the_argmax_loop_cropped_to_the_context()
    {
        const int n = 40;   // with the prompt, past the 32-token window
        List<int> Tokens(params string[] extra) =>
            Ok(["sample", run.Run, "--prompt", "The ", "--tokens", n.ToString(), "--json", .. extra]).Json()
                .GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToList();

        using var model = Checkpointed(run.Run, 6);
        var ids = "The "u8.ToArray().Select(b => (long)b).ToList();
        using (no_grad())
            for (var i = 0; i < n; i++)
            {
                using var x = tensor(ids.Skip(Math.Max(0, ids.Count - Block)).ToArray()).unsqueeze(0);
                ids.Add(model.call(x)[0, -1].argmax().item<long>());
            }
        var argmax = ids.Skip(4).Select(t => (int)t).ToList();
        Assert.Equal(argmax, Tokens("--temperature", "0"));
        Assert.Equal(argmax, Tokens("--temperature", "1", "--top-k", "1", "--seed", "3"));
    }

    [Fact]
    public void A_missing_step_folder_or_bad_option_is_bad_input_with_the_reason()
    {
        void Bad(string reason, params string[] args)
        {
            var r = Wesar.Run(["--workdir", run.Work, .. args]);
            Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
            Assert.Contains(reason, r.Stderr);
        }
        Bad($"{run.Run} has no checkpoint at step 4; it has step 3, 6", "sample", run.Run, "--step", "4");
        Bad($"{run.Run} has no checkpoint at step 4; it has step 3, 6", "export", run.Run, "--step", "4");
        Bad("no run folder ./nowhere", "export", "./nowhere");
        Bad($"{run.Work} is not a run folder", "export", run.Work);
        Bad("--tokens must be at least 1, got 0", "sample", run.Run, "--tokens", "0");
        Bad("--prompt is empty", "sample", run.Run, "--prompt", "");
        Bad("bogus", "export", run.Run, "--gates", "bogus");
    }

    [PyTorchFact]
    public void The_pytorch_module_computes_the_checkpointed_models_logits_from_either_export()
    {
        const string script = """
            import json, sys, torch
            sys.path.insert(0, sys.argv[1])
            import wesar_gpt
            model = wesar_gpt.load(sys.argv[2])
            with torch.no_grad():
                print(json.dumps(model(torch.tensor(json.loads(sys.argv[3]))).flatten().tolist()))
            """;
        using var saved = Checkpointed(run.Run, 6);
        var expected = Logits(saved);
        foreach (var gates in new[] { "fold", "keep" })
        {
            var dir = Path.Combine(run.Work, $"py-{gates}");
            Ok("export", run.Run, "--gates", gates, "--out", dir);
            var fromPython = JsonSerializer.Deserialize<float[]>(PyTorch.Run(script, Path.Combine(TestEnv.RepoRoot, "docs", "python"), dir, JsonSerializer.Serialize(Input())))!;
            var diff = MaxDiff(expected, fromPython);
            output.WriteLine($"gates {gates}: max |logit difference| PyTorch vs .NET = {diff:E3} over {expected.Length} logits");
            Assert.InRange(diff, 0, 1e-4);
        }
    }
}

/// <summary>`export` and `sample` name journal runs as the history commands do.</summary>
public sealed class ExportByNameTests(FinishedSweep sweep) : IClassFixture<FinishedSweep>
{
    [Fact]
    public void A_journal_run_by_prefix_exports_and_samples_its_newest_checkpoint_from_its_folder()
    {
        var dir = Path.Combine(sweep.Dir.Path, "out");
        var r = Wesar.Run("--workdir", sweep.Work, "export", sweep.Run[..6], "--out", dir, "--json").Json();
        Assert.Equal(6, r.GetProperty("step").GetInt64());
        Assert.EndsWith(Path.Combine("sweeps", sweep.Id, sweep.Run), r.GetProperty("run_dir").GetString());
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))).RootElement;
        Assert.Equal(64, config.GetProperty("d_model").GetInt32());
        Assert.False(config.GetProperty("gated").GetBoolean());   // the sweep's scheme is he
        var s = Wesar.Run("--workdir", sweep.Work, "sample", $"{sweep.Id}/{sweep.Run}", "--tokens", "5", "--json").Json();
        Assert.Equal(5, s.GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public void An_unknown_run_or_a_step_without_a_checkpoint_is_bad_input()
    {
        var r = Wesar.Run("--workdir", sweep.Work, "sample", "nope");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no run 'nope' in the journal", r.Stderr);
        r = Wesar.Run("--workdir", sweep.Work, "export", sweep.Run, "--step", "99");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("has no checkpoint at step 99; it has step 6", r.Stderr);
    }
}
