using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public sealed class ZClipTests : IDisposable
{
    static readonly ZClipSettings Three = new(true, 0.97, 2.5, 3);
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void The_warm_up_norms_give_the_first_statistics_and_nothing_is_clipped_meanwhile()
    {
        var s = ZClipState.Fresh;
        foreach (var norm in new[] { 1.0, 2.0 })
        {
            (var bound, s) = s.Step(norm, Three);
            Assert.Null(bound);
            Assert.False(s.Ready);
        }
        (var last, s) = s.Step(3.0, Three);
        Assert.Null(last);
        Assert.True(s.Ready);
        Assert.Equal(2.0, s.Mean, 12);
        Assert.Equal(2.0 / 3, s.Variance, 12);   // population variance of 1, 2, 3
    }

    [Fact]
    public void An_ordinary_norm_passes_and_moves_the_statistics()
    {
        var (bound, next) = new ZClipState([], 2.0, 2.0 / 3, true).Step(2.5, Three);
        Assert.Null(bound);                                   // z = 0.5 / 0.816 = 0.61
        Assert.Equal(0.97 * 2 + 0.03 * 2.5, next.Mean, 12);   // 2.015
        Assert.Equal(0.97 * 2.0 / 3 + 0.03 * 0.485 * 0.485, next.Variance, 12);
    }

    [Fact]
    public void An_outlier_is_cut_harder_the_further_out_it_is_and_the_statistics_take_the_cut_norm()
    {
        var state = new ZClipState([], 2.0, 2.0 / 3, true);
        var (bound, next) = state.Step(10.0, Three);
        // z = 8 / 0.8165 = 9.80; bound = mean + 2.5 · std / (z / 2.5) ≈ mean + 2.5² · var / (norm − mean) = 2 + 6.25 · (2/3) / 8.
        Assert.Equal(2 + 6.25 * (2.0 / 3) / 8, bound!.Value, 5);
        Assert.Equal(0.97 * 2 + 0.03 * bound.Value, next.Mean, 12);
        Assert.Equal(0.97 * 2.0 / 3 + 0.03 * Math.Pow(bound.Value - next.Mean, 2), next.Variance, 12);
        var (further, _) = state.Step(100.0, Three);
        Assert.True(further < bound, $"a norm of 100 got bound {further}, above the {bound} of a norm of 10");
    }

    TrainSettings Settings(params string[] extra) => TrainSettings.Load(TestEnv.TinyPreset, [
        $"data.path={TestEnv.Corpus}", "init.scheme=he", "model.n-layer=2", "model.d-model=64", "model.block-size=32",
        "train.batch-size=4", "train.steps=40", "optim.warmup-steps=5", "run.threads=1", "optim.grad-clip=0",
        "faults.poison-batches=[12]", "faults.poison-scale=50", .. extra]);

    [Fact]
    public void In_a_run_zclip_cuts_the_gradient_of_a_poisoned_batch_and_resumes_with_its_statistics()
    {
        using var data = DataSource.Open(Settings().Data, dir.Path);
        // The norm the step measured, the norm of the gradient the optimizer used, and the largest norm before it.
        (double Measured, double Used, double Before) PoisonedStep(TrainSettings s)
        {
            using var t = new Trainer(s, data);
            var before = Enumerable.Range(0, 12).Max(_ => t.TrainStep(measure: false).GradNorm);
            var measured = t.TrainStep(measure: false).GradNorm;
            var used = Math.Sqrt(t.Model.parameters().Where(p => p.grad is not null).Sum(p => Math.Pow(p.grad!.norm().item<float>(), 2)));
            return (measured, used, before);
        }
        var plain = PoisonedStep(Settings());
        Assert.True(plain.Measured > 10 * plain.Before, $"the poisoned batch's norm {plain.Measured} is no outlier next to {plain.Before}");
        Assert.Equal(plain.Measured, plain.Used, plain.Measured * 1e-4);
        var clipped = PoisonedStep(Settings("optim.zclip.enabled=on", "optim.zclip.warmup-steps=5"));
        Assert.Equal(plain.Measured, clipped.Measured, plain.Measured * 1e-4);   // same run up to here
        Assert.True(clipped.Used < 2 * clipped.Before, $"ZClip let a norm of {clipped.Used} through (largest before: {clipped.Before})");

        var on = Settings("optim.zclip.enabled=on", "optim.zclip.warmup-steps=5");
        using var trainer = new Trainer(on, data);
        for (var i = 0; i < 8; i++) trainer.TrainStep(measure: false);
        var checkpoint = trainer.Capture();
        var first = Enumerable.Range(0, 8).Select(_ => trainer.TrainStep(measure: false).Loss).ToList();
        trainer.Restore(checkpoint);
        Assert.Equal(first, Enumerable.Range(0, 8).Select(_ => trainer.TrainStep(measure: false).Loss).ToList());
    }

    [Fact]
    public void The_keys_default_to_the_papers_values_and_off()
    {
        var s = TrainSettings.Load(null, []).Optim.ZClip;
        Assert.Equal(new ZClipSettings(false, 0.97, 2.5, 25), s);
        Assert.Contains("optim.zclip.alpha must be below 1, got 1", Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["optim.zclip.alpha=1"])).Problems);
    }
}
