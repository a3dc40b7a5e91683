using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

public sealed class SweepDefinitionTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void The_grid_is_the_product_of_its_lists_with_stable_ids_and_labels()
    {
        var file = SweepHarness.Write(dir.Path, "grid", grid: "init.scheme = [he, \"wesar(he)\"], optim.lr = [1e-3, 3e-3], run.seed = [1, 2]");
        var a = SweepDefinition.Load(file, [], 3);
        var b = SweepDefinition.Load(file, [], 3);
        Assert.Equal(8, a.Runs.Count);
        Assert.Equal(8, a.Runs.Select(r => r.Id).Distinct().Count());
        Assert.Equal(a.Runs.Select(r => r.Id), b.Runs.Select(r => r.Id));
        Assert.Equal(a.Id, b.Id);
        Assert.StartsWith("grid-", a.Id.Value);
        Assert.Contains(a.Runs, r => r.Label == "scheme=wesar(he) lr=3e-3 seed=2");
        var settings = a.Runs.Single(r => r.Label == "scheme=wesar(he) lr=3e-3 seed=2").Settings([]);
        Assert.Equal("wesar(he)", settings.Init.Scheme.Name);
        Assert.Equal(3e-3, settings.Optim.AdamW.Lr);
        Assert.Equal(2, settings.Run.Seed);
        Assert.Equal(40, settings.Train.Steps);          // from the sweep file
        Assert.Equal(64, settings.Model.DModel);          // the sweep file wins over its base (tiny: 128)
        Assert.Equal(2, settings.Model.NLayer);
    }

    [Fact]
    public void Learning_rates_are_labelled_as_every_table_writes_them()
    {
        var file = SweepHarness.Write(dir.Path, "lrs", grid: "optim.lr = [0.003, 6e-5, 0.00025]");
        Assert.Equal(["lr=3e-3", "lr=6e-5", "lr=2.5e-4"], SweepDefinition.Load(file, [], 3).Runs.Select(r => r.Label));
    }

    [Fact]
    public void A_switch_is_labelled_by_its_section()
    {
        var file = SweepHarness.Write(dir.Path, "switch", grid: "optim.zclip.enabled = [off, on]");
        Assert.Equal(["zclip=off", "zclip=on"], SweepDefinition.Load(file, [], 3).Runs.Select(r => r.Label));
    }

    [Fact]
    public void The_quickstart_sweep_trains_on_the_built_in_corpus_from_any_working_folder()
    {
        var d = SweepDefinition.Load(Path.Combine(TestEnv.RepoRoot, "hocon", "sweeps", "quickstart.conf"), [], 3);
        Assert.Equal(4, d.Runs.Count);
        Assert.All(d.Runs, r => Assert.Equal(WeSaR.Training.Data.BuiltinCorpus.Name, r.Settings([]).Data.Path));
    }

    [Fact]
    public void An_override_that_collapses_the_grid_schedules_each_distinct_run_once()
    {
        var file = SweepHarness.Write(dir.Path, "dup", grid: "init.scheme = [he, \"wesar(he)\"], optim.lr = [1e-3, 3e-3]");
        var d = SweepDefinition.Load(file, ["optim.lr=1e-2"], 3);
        Assert.Equal(2, d.Runs.Count);
        Assert.All(d.Runs, r => Assert.Equal(1e-2, r.Settings([]).Optim.AdamW.Lr));
    }

    [Fact]
    public void Placement_keys_do_not_change_a_runs_identity_but_training_keys_do()
    {
        var file = SweepHarness.Write(dir.Path, "ident");
        var baseline = SweepDefinition.Load(file, [], 3).Runs.Single().Id;
        Assert.Equal(baseline, SweepDefinition.Load(file, ["run.threads=4", "run.name=x", "checkpoint.memory=0"], 3).Runs.Single().Id);
        Assert.NotEqual(baseline, SweepDefinition.Load(file, ["train.steps=41"], 3).Runs.Single().Id);
    }

    [Fact]
    public void Keys_added_later_leave_a_runs_identity_as_it_was_at_their_neutral_value()
    {
        static string Identity(params string[] sets) => SweepDefinition.Identity(WeSaR.Training.Config.ConfigLoader.Load(null, sets).Config);
        var plain = Identity();
        Assert.All(new[] { "z-loss", "qk-norm", "zclip", "reset-moments", "rewarmup-steps", "risk", "replay", "transient" }, k => Assert.DoesNotContain(k, plain));
        Assert.Contains("spike.replay = ", Identity("spike.replay=on"));
        Assert.Contains("faults.transient-steps = ", Identity("faults.transient-steps=[12]"));
        Assert.Contains("optim.zclip.alpha = ", Identity("optim.zclip.enabled=on"));
        Assert.Contains("spike.rollback.rewarmup-steps = ", Identity("spike.rollback.reset-moments=on"));
        Assert.DoesNotContain("qk-norm", Identity("optim.z-loss=0.0", "model.qk-norm=false"));
        Assert.Contains("optim.z-loss = ", Identity("optim.z-loss=1e-4"));
        Assert.Contains("model.qk-norm = ", Identity("model.qk-norm=on"));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_the_grid_point_it_belongs_to()
    {
        var file = SweepHarness.Write(dir.Path, "bad", extra: "sweep.colour = red\noptim.lrr = 1", grid: "init.scheme = [he, \"nonsense\"], model.n-layerz = [1]");
        var e = Assert.Throws<ConfigException>(() => SweepDefinition.Load(file, [], 3));
        Assert.Contains(e.Problems, p => p.Contains("sweep.grid.model.n-layerz: unknown key"));
        Assert.Contains(e.Problems, p => p.Contains("sweep.colour: unknown key"));

        var schemes = SweepHarness.Write(dir.Path, "bad2", grid: "init.scheme = [he, \"nonsense\"]");
        var e2 = Assert.Throws<ConfigException>(() => SweepDefinition.Load(schemes, [], 3));
        Assert.Contains(e2.Problems, p => p.StartsWith("[scheme=nonsense] init.scheme"));
        Assert.Throws<ConfigException>(() => SweepDefinition.Load(Path.Combine(dir.Path, "missing.conf"), [], 3));
        Assert.Throws<ConfigException>(() => SweepDefinition.Load(file, ["data.path=/no/such/file.txt"], 3));
    }
}
