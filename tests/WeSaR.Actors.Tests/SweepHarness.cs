using Akka.Actor;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>Small sweeps on the real corpus, run in-process against a real journal.</summary>
public static class SweepHarness
{
    /// <summary>A sweep of 40-step runs that roll back to a checkpoint at least 5 steps before a spike and fail after 2 restarts.</summary>
    public static string Write(string dir, string name, string extra = "", string grid = "init.scheme = [\"wesar(he)\"]") =>
        TestSweeps.Write(dir, name, grid, 40, "sweep.max-restarts = 2\nspike.rollback.margin = 5\n" + extra);

    public static (OrchestratorSettings, Akka.Configuration.Config) Config(params string[] sets) =>
        OrchestratorHost.LoadConfig(null, ["orchestrator.restarts.min-backoff=100ms", "orchestrator.slots.cpu=2", .. sets]);

    /// <summary>Runs the sweep to its end in a fresh ActorSystem; returns its final state and every journal event.</summary>
    public static async Task<(SweepState State, List<ISweepEvent> Events)> Run(string workdir, string file, params string[] sets)
    {
        var (settings, config) = Config(sets);
        var definition = SweepDefinition.Load(file, [], settings.Restarts.Max);
        await using var host = OrchestratorHost.Start(settings, config, workdir);
        var reply = await host.Coordinator(definition.Id).Ask<object>(new Begin(definition), TimeSpan.FromMinutes(5));
        var finished = Assert.IsType<SweepFinished>(reply);
        return (finished.State, (await host.History.Events(definition.Id)).Select(e => e.Event).ToList());
    }
}
