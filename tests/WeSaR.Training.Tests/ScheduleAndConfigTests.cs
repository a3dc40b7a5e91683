using WeSaR.Training.Config;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public class ScheduleAndConfigTests
{
    [Theory]
    [InlineData(3e-3, "3e-3")]
    [InlineData(6e-5, "6e-5")]
    [InlineData(0.01, "1e-2")]
    [InlineData(2.5e-4, "2.5e-4")]
    public void Learning_rates_are_written_one_way(double lr, string text) => Assert.Equal(text, LrFormat.Of(lr));

    [Fact]
    public void A_warmup_longer_than_the_run_is_warned_about()
    {
        TrainSettings At(string warmup) => TrainSettings.Load(null, ["train.steps=20", "optim.warmup-steps=" + warmup]);
        Assert.Contains("optim.warmup-steps (21) is longer than train.steps (20)", Assert.Single(At("21").Warnings()));
        Assert.Empty(At("20").Warnings());
    }

    [Fact]
    public void Measures_every_step_of_the_first_interval_then_every_interval()
    {
        Assert.Equal([1L, 2, 3, 4, 5, 10, 15, 20], Enumerable.Range(1, 22).Select(i => (long)i).Where(s => TrainingRun.Measures(s, 5)));
        Assert.DoesNotContain(Enumerable.Range(1, 100), s => TrainingRun.Measures(s, 0));
    }

    [Fact]
    public void Lr_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        double Lr(long s) => LrSchedule.At(s, peak: 1.0, warmup: 10, total: 110, minRatio: 0.1);
        Assert.Equal(0.1, Lr(0), 12);
        Assert.Equal(1.0, Lr(9), 12);
        Assert.Equal(1.0, Lr(10), 12);
        Assert.Equal(0.55, Lr(60), 12);   // halfway through the decay
        Assert.Equal(0.1, Lr(110), 12);
        Assert.Equal(0.1, Lr(500), 12);
    }

    [Fact]
    public void The_tiny_preset_with_overrides_resolves()
    {
        var s = TrainSettings.Load(TestEnv.TinyPreset, ["data.path=/some/where/corpus.txt", "train.steps=7", "init.scheme=wesar(he)", "run.device=cuda:1"]);
        Assert.Equal(7, s.Train.Steps);
        Assert.Equal("/some/where/corpus.txt", s.Data.Path);
        Assert.Equal("wesar(he)", s.Init.Scheme.Name);
        Assert.Equal("cuda:1", s.Run.Device);
        Assert.Equal(128, s.Model.DModel);
    }

    [Fact]
    public void The_common_variance_auto_is_one_over_the_width_and_the_tiny_preset_uses_it()
    {
        InitSettings Init(string? config, params string[] keys) => TrainSettings.Load(config, ["data.path=x", "init.scheme=wesar(he)", .. keys]).Init;
        Assert.Equal(Math.Sqrt(1.0 / 128), Init(TestEnv.TinyPreset).Scheme.Sigma, 15);
        Assert.Equal(Math.Sqrt(1.0 / 64), Init(TestEnv.TinyPreset, "model.d-model=64").Scheme.Sigma, 15);
        Assert.Equal(Math.Sqrt(4e-5), Init(TestEnv.TinyPreset, "init.sigma2=4e-5").Scheme.Sigma, 15);
        Assert.Equal(Math.Sqrt(4e-5), Init(null).Scheme.Sigma, 15);   // the paper's, the default without a preset
        // The gate starts where the backbone's std over sigma puts it, so alpha*W has he's std whatever sigma is.
        var site = new WeSaR.Model.Init.MatrixSite(WeSaR.Model.Init.MatrixRole.FfnUp, 128, 4, 0);
        var auto = Init(TestEnv.TinyPreset).Scheme;
        Assert.Equal(WeSaR.Model.Init.InitScheme.Parse("he").TargetStd(site), auto.GateInit(site) * auto.StoredStd(site), 12);
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["data.path=x", "init.sigma2=big"]));
        Assert.Contains(e.Problems, p => p.Contains("init.sigma2 must be a number"));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(null,
            ["data.path=x", "optim.lr=-1", "init.scheme=xavier", "model.n-head=3", "run.device=tpu", "train.steps=abc"]));
        Assert.Contains(e.Problems, p => p.Contains("optim.lr must be positive"));
        Assert.Contains(e.Problems, p => p.Contains("unknown init scheme 'xavier'"));
        Assert.Contains(e.Problems, p => p.Contains("divisible by model.n-head"));
        Assert.Contains(e.Problems, p => p.Contains("run.device"));
        Assert.Contains(e.Problems, p => p.Contains("train.steps must be an integer"));
    }

    [Fact]
    public void Unknown_keys_are_refused_on_the_command_line_and_in_files()
    {
        var e = Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["train.stepz=5"]));
        Assert.Contains("train.stepz", e.Message);
        using var dir = TestEnv.NewTempDir();
        var file = Path.Combine(dir.Path, "bad.conf");
        File.WriteAllText(file, "optim { learning-rate = 1e-3 }");
        e = Assert.Throws<ConfigException>(() => TrainSettings.Load(file, ["data.path=x"]));
        Assert.Contains("optim.learning-rate", e.Message);
        Assert.Throws<ConfigException>(() => TrainSettings.Load(Path.Combine(dir.Path, "missing.conf"), []));
    }

    [Fact]
    public void A_missing_data_path_says_how_to_give_one() =>
        Assert.Contains("--set data.path=", Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["data.path="])).Message);
}
