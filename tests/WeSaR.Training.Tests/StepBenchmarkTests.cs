using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public sealed class StepBenchmarkTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Every_scheme_is_timed_for_every_step_of_every_repeat_with_the_models_own_shape()
    {
        TrainSettings Settings(string scheme) => TrainSettings.Load(TestEnv.TinyPreset, [
            $"data.path={TestEnv.Corpus}", $"init.scheme={scheme}", "model.n-layer=2", "model.d-model=64", "model.block-size=32",
            "train.batch-size=4", "run.threads=1"]);
        string[] schemes = ["he", "wesar(he)"];
        using var data = DataSource.Open(Settings("he").Data, dir.Path);
        var times = StepBenchmark.Run(schemes.Select(Settings).ToList(), data, steps: 4, repeats: 2);

        Assert.Equal(schemes, times.Select(t => t.Scheme));
        // Seeded: a model built without the generator's lock would draw while another test's trainer is initialised.
        using var model = Gpt.Seeded(new GptConfig(256, 32, 2, 4, 64), Model.Init.InitScheme.Parse("he"), 0);
        // Everything but the token (256 x 64) and position (32 x 64) tables.
        var nonEmbedding = model.parameters().Sum(p => p.numel()) - 256 * 64 - 32 * 64;
        foreach (var t in times)
        {
            Assert.Equal(8, t.Seconds.Count);
            Assert.All(t.Seconds, s => Assert.True(s > 0));
            Assert.Equal(4 * 32, t.TokensPerStep);
            Assert.True(t.Min <= t.Median);
            Assert.Equal(4 * 32 * t.FlopsPerToken / 0.5 / 1e9, t.Mfu(0.5, 1e9), 9);
        }
        // 6 N + 12 L T d with L = 2, T = 32, d = 64.
        Assert.Equal(6.0 * nonEmbedding + 12 * 2 * 32 * 64, times[0].FlopsPerToken);
    }
}
