using System.Text.Json;
using TorchSharp.PyBridge;
using WeSaR.Model.Export;
using WeSaR.Model.Init;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WeSaR.Training.Tests;

/// <summary>
/// The implementation checked against an independent PyTorch replica (docs/python/parity.py): from the same initial
/// weights and batches, a real Trainer's steps and PyTorch's cross_entropy, clip_grad_norm_ and AdamW must give the
/// same loss, gradient norm and gradients at every step and the same weights after the last, within float32 error.
/// The figures: <c>dotnet test tests/WeSaR.Training.Tests --filter PyTorchParityTests --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class PyTorchParityTests(ITestOutputHelper output) : IDisposable
{
    const int Steps = 3;
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [PyTorchTheory]
    [InlineData("he")]
    [InlineData("wesar(he)")]
    [InlineData("wesar-frozen(he)")]
    [InlineData("wesar(small)")]
    public void Training_steps_agree_with_pytorch_from_the_same_weights_and_batches(string scheme)
    {
        // The tiny preset's shape at a high rate without warm-up, so every step moves the weights a lot and clipping acts.
        var s = TrainSettings.Load(TestEnv.TinyPreset, [$"data.path={TestEnv.Corpus}", $"init.scheme={scheme}", "train.batch-size=8",
            "optim.lr=1e-3", "optim.warmup-steps=0", "run.threads=1"]);
        using var data = DataSource.Open(s.Data, dir.Path);
        using var trainer = new Trainer(s, data);
        var model = trainer.Model;
        // Cloned: on the CPU the exported tensors share the parameters' storage, which the steps change in place.
        var tensors = ModelExport.Weights(model, GateMode.Keep).ToDictionary(kv => "init." + kv.Key, kv => kv.Value.clone());
        // The Trainer's own batch order, drawn again by a sampler made as it makes its own.
        var batches = new BatchSampler(data, Split.Train, s.Train.BatchSize, model.Config.BlockSize, (ulong)s.Run.Seed);
        var steps = new List<object>();
        for (var k = 0; k < Steps; k++)
        {
            var (x, y) = batches.Batch(k, CPU);
            (tensors[$"step{k}.x"], tensors[$"step{k}.y"]) = (x.contiguous(), y.contiguous());
            var m = trainer.TrainStep(measure: false);
            steps.Add(new { lr = m.Lr, loss = m.Loss, grad_norm = m.GradNorm });
            foreach (var (name, p) in model.named_parameters().Where(p => p.parameter.grad is not null))
                tensors[$"step{k}.grad.{name}"] = p.grad!.detach().cpu().clone();
        }
        foreach (var (name, w) in ModelExport.Weights(model, GateMode.Keep)) tensors["final." + name] = w;
        Safetensors.SaveStateDict(Path.Combine(dir.Path, "parity.safetensors"), tensors);
        File.WriteAllBytes(Path.Combine(dir.Path, ModelExport.ConfigFile), JsonSerializer.SerializeToUtf8Bytes(ModelExport.Config(model, GateMode.Keep, "byte", 0), ModelExport.Json));
        var a = s.Optim.AdamW;
        File.WriteAllText(Path.Combine(dir.Path, "parity.json"), JsonSerializer.Serialize(new
        {
            beta1 = a.Beta1, beta2 = a.Beta2, eps = a.Eps, weight_decay = a.WeightDecay, grad_clip = s.Optim.GradClip,
            frozen_gates = model.Scheme.Reparam == Reparam.Frozen, steps,
        }));

        var report = JsonDocument.Parse(PyTorch.RunFile(Path.Combine(TestEnv.RepoRoot, "docs", "python", "parity.py"), dir.Path)).RootElement;
        output.WriteLine($"{scheme}, PyTorch {report.GetProperty("torch")}:");
        foreach (var (step, i) in report.GetProperty("steps").EnumerateArray().Select((x, i) => (x, i)))
        {
            output.WriteLine($"  step {i + 1}: loss {step.GetProperty("loss_dotnet").GetDouble():F6} (.NET) vs {step.GetProperty("loss_pytorch").GetDouble():F6}, " +
                $"relative error {step.GetProperty("loss_rel").GetDouble():E2}; gradient norm {step.GetProperty("grad_norm_rel").GetDouble():E2}; " +
                $"worst of {step.GetProperty("grads").GetInt32()} gradients {step.GetProperty("grad_rel_max").GetDouble():E2} ({step.GetProperty("grad_worst")})");
            Assert.Empty(step.GetProperty("grads_only_in_dotnet").EnumerateArray());   // every trained tensor is trained in both
            Assert.InRange(step.GetProperty("loss_rel").GetDouble(), 0, 1e-5);
            Assert.InRange(step.GetProperty("grad_norm_rel").GetDouble(), 0, 1e-4);
            Assert.InRange(step.GetProperty("grad_rel_max").GetDouble(), 0, 1e-3);
        }
        var (worst, mean, update) = (report.GetProperty("weight_abs_max_over_lr").GetDouble(), report.GetProperty("weight_abs_mean_over_lr").GetDouble(),
            report.GetProperty("update_rel_max").GetDouble());
        output.WriteLine($"  weights after {Steps} steps: mean difference {mean:E2} lr, largest {worst:E2} lr; worst of {report.GetProperty("weights").GetInt32()} tensors " +
            $"{update:E2} of its largest move ({report.GetProperty("update_worst")})");
        Assert.Equal(model.named_parameters().Count(), report.GetProperty("weights").GetInt32());
        Assert.InRange(mean, 0, 1e-4);
        Assert.InRange(worst, 0, 5e-2);
        Assert.InRange(update, 0, 5e-2);
    }
}
