using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>Bad sweep files, orchestrator values and comparison keys: reported, never a crash.</summary>
public sealed class ConfigProblemTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void A_list_outside_the_grid_is_named_and_pointed_to_the_grid()
    {
        var file = SweepHarness.Write(dir.Path, "lists", extra: "optim.lr = [3e-3, 3e-2]\nfaults.poison-batches = [5]");
        var e = Assert.Throws<ConfigException>(() => SweepDefinition.Load(file, [], 3));
        // faults.poison-batches takes a list: only optim.lr is out of place.
        Assert.Equal([$"{file}: optim.lr is a list, and lists belong in sweep.grid: sweep.grid {{ optim.lr = [...] }}"], e.Problems);
    }

    [Fact]
    public void Backoffs_double_from_their_minimum_up_to_their_maximum()
    {
        var (settings, _) = OrchestratorHost.LoadConfig(null, ["orchestrator.cluster.retry.min-backoff=2s", "orchestrator.cluster.retry.max-backoff=10s"]);
        Assert.Equal([2, 4, 8, 10, 10], Enumerable.Range(0, 5).Select(n => settings.Cluster.Retry.Delay(n).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(1), OrchestratorHost.LoadConfig(null, []).Item1.Restarts.Backoff.Delay(0));   // orchestrator.restarts
        var e = Assert.Throws<ConfigException>(() => OrchestratorHost.LoadConfig(null, ["orchestrator.cluster.retry.max-backoff=soon"]));
        Assert.Contains("orchestrator.cluster.retry.max-backoff must be a duration such as 5s, got 'soon'", e.Problems);
    }

    [Fact]
    public void A_broken_sweep_file_is_refused_before_the_parser_sees_it()
    {
        var file = Path.Combine(dir.Path, "broken.conf");
        File.WriteAllText(file, "sweep {\n  grid { init.scheme = [he, small }\n}\noptim.lr = 3e-3\n");
        Assert.Equal([$"{file}:2: '[' opened here is never closed"], Assert.Throws<ConfigException>(() => SweepDefinition.Load(file, [], 3)).Problems);
    }

    [Fact]
    public void Sweep_section_typos_suggest_the_sweep_key()
    {
        var file = SweepHarness.Write(dir.Path, "typo", extra: "sweep.max-restart = 1");
        Assert.Contains($"{file}: sweep.max-restart: unknown key (did you mean sweep.max-restarts?)",
            Assert.Throws<ConfigException>(() => SweepDefinition.Load(file, [], 3)).Problems);
    }

    [Fact]
    public void A_negative_slot_count_is_reported_with_the_other_problems()
    {
        var e = Assert.Throws<ConfigException>(() => OrchestratorHost.LoadConfig(null,
            ["orchestrator.slots.cpu=-1", "orchestrator.slots.cpu-threads=0", "orchestrator.slotz.cpu=1"]));
        Assert.Equal(["--set orchestrator.slotz.cpu: unknown key (did you mean orchestrator.slots.cpu?)",
            "orchestrator.slots.cpu-threads must be at least 1, got 0", "orchestrator.slots.cpu must be at least 0, got -1"], e.Problems);
    }

    [Theory]
    [InlineData(new string[0], "--by needs at least one key")]
    [InlineData(new[] { "foo" }, "--by foo: unknown key")]
    [InlineData(new[] { "schem", "lr" }, "--by schem: unknown key (did you mean scheme?)")]
    [InlineData(new[] { "model", "x" }, "--by model: unknown key; --by x: unknown key")]
    public void Comparison_keys_must_be_short_names_or_config_keys(string[] by, string message) =>
        Assert.Equal(message, Comparison.Problem(by));

    [Fact]
    public void Short_names_and_config_keys_are_fine() =>
        Assert.Null(Comparison.Problem(["scheme", "lr", "seed", "model.n-layer", "optim.weight-decay"]));
}
