using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    static string[] Args(string scheme) => [
        $"data.path={TestEnv.Corpus}", $"init.scheme={scheme}", "model.n-layer=2", "model.d-model=64", "model.block-size=32",
        "train.batch-size=4", "train.steps=40", "train.eval-batches=2", "optim.warmup-steps=5", "run.threads=1"];

    TrainSettings Settings(string scheme) => TrainSettings.Load(TestEnv.TinyPreset, Args(scheme));

    TokenFile Data(TrainSettings s) => DataSource.Open(s.Data, dir.Path);

    [Fact]
    public void A_checkpoint_taken_while_the_rate_warms_up_again_after_a_moment_reset_resumes_the_warm_up()
    {
        var s = Settings("wesar(he)");
        using var data = Data(s);
        using var t = new Trainer(s, data);
        for (var i = 0; i < 10; i++) t.TrainStep(measure: false);
        t.ResetMoments(rewarmSteps: 6);
        var lrs = Enumerable.Range(0, 2).Select(_ => t.TrainStep(measure: false).Lr).ToList();
        var checkpoint = t.Capture();
        var first = Enumerable.Range(0, 6).Select(_ => t.TrainStep(measure: false)).Select(m => (m.Loss, m.Lr)).ToList();
        t.Restore(checkpoint);
        Assert.Equal(first, Enumerable.Range(0, 6).Select(_ => t.TrainStep(measure: false)).Select(m => (m.Loss, m.Lr)).ToList());
        Assert.Equal(LrSchedule.At(10, s.Optim.AdamW.Lr, 5, 40, s.Optim.MinLrRatio) / 6, lrs[0], 12);
        Assert.Equal(LrSchedule.At(12, s.Optim.AdamW.Lr, 5, 40, s.Optim.MinLrRatio) * 3 / 6, first[0].Lr, 12);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.0, true)]
    public void A_run_initialised_while_another_trains_in_the_same_process_gets_the_weights_of_one_initialised_alone(double otherDropout, bool otherBuildsModels)
    {
        // Sweep slots share a process and LibTorch's default generator: a step of one run must not reseed it while
        // another run draws its initial weights from it.
        var s = Settings("he");
        using var data = Data(s);
        string Initial(Trainer t) => WeSaR.Model.Checkpoints.CheckpointStore.Sha256(t.Capture().File(Trainer.ModelFile));
        string alone;
        using (var t = new Trainer(s, data)) alone = Initial(t);
        using var stop = new CancellationTokenSource();
        var busy = new Thread(() =>
        {
            using var other = new Trainer(TrainSettings.Load(TestEnv.TinyPreset, [.. Args("small"), $"model.dropout={otherDropout}"]), data);
            while (!stop.IsCancellationRequested)
                if (otherBuildsModels) WeSaR.Model.Gpt.Seeded(other.Model.Config, WeSaR.Model.Init.InitScheme.Parse("small"), 7).Dispose();   // as export and sample do
                else other.TrainStep(measure: false);
        });
        busy.Start();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                using var t = new Trainer(s, data);
                Assert.Equal(alone, Initial(t));
            }
        }
        finally
        {
            stop.Cancel();
            busy.Join();
        }
    }

    [Fact]
    public void Restoring_a_checkpoint_replays_the_same_losses_bit_for_bit()
    {
        var s = Settings("wesar(he)");
        using var data = Data(s);
        using var t = new Trainer(s, data);
        for (var i = 0; i < 5; i++) t.TrainStep(measure: false);
        var checkpoint = t.Capture();
        var first = Enumerable.Range(0, 5).Select(_ => t.TrainStep(measure: false).Loss).ToList();
        t.Restore(checkpoint);
        Assert.Equal(5, t.Step);
        var again = Enumerable.Range(0, 5).Select(_ => t.TrainStep(measure: false).Loss).ToList();
        Assert.Equal(first, again);
    }

    [Fact]
    public void Measured_steps_report_update_ratios_for_every_matrix_and_gates_for_wesar_only()
    {
        var s = Settings("wesar(he)");
        using var data = Data(s);
        using var t = new Trainer(s, data);
        var plain = t.TrainStep(measure: false);
        Assert.Null(plain.UpdateRatio);
        var m = t.TrainStep(measure: true);
        Assert.Equal(2 * 6 + 2, m.UpdateRatio!.Count);
        Assert.All(m.UpdateRatio.Values, r => Assert.True(r > 0 && r < 1));
        Assert.Contains("h.1.mlp.down_proj", m.Gate!.Keys);
        Assert.Equal(t.Model.Scheme.GateInit(t.Model.Matrices().Single(x => x.Name == "h.1.mlp.down_proj").Matrix.Site),
            m.Gate["h.1.mlp.down_proj"], 1);

        var he = Settings("he");
        using var t2 = new Trainer(he, data);
        Assert.Empty(t2.TrainStep(measure: true).Gate!);
    }

    [Fact]
    public void Skipping_batches_and_scaling_the_lr_change_what_the_next_step_does()
    {
        var s = Settings("he");
        using var data = Data(s);
        using var a = new Trainer(s, data);
        using var b = new Trainer(s, data);
        a.TrainStep(false);
        b.TrainStep(false);
        b.SkipBatches(3);
        b.LrFactor = 0.5;
        var ma = a.TrainStep(false);
        var mb = b.TrainStep(false);
        Assert.Equal(5, b.DataPosition);
        Assert.Equal(ma.Lr * 0.5, mb.Lr, 12);
        Assert.NotEqual(ma.Loss, mb.Loss);
    }

    public void Dispose() => dir.Dispose();
}
