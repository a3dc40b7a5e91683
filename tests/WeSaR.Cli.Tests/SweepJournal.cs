using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli.Tests;

/// <summary>Reads what `wesar` processes wrote to a work folder's journal, in-process.</summary>
static class SweepJournal
{
    /// <param name="overrides">Orchestrator keys, e.g. the journal provider and its connection string.</param>
    public static async Task<List<ISweepEvent>> Events(string workdir, SweepId id, params string[] overrides)
    {
        var (settings, config) = OrchestratorHost.LoadConfig(null, overrides);
        await using var host = OrchestratorHost.Start(settings, config, workdir);
        return (await host.History.Events(id)).Select(e => e.Event).ToList();
    }
}
