using System.CommandLine;
using WeSaR.Actors.Hosting;
using WeSaR.Cli.Serve;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar serve`: a live dashboard of the journal in the browser, on loopback; it reads only, never starts a run.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port", "-p") { Description = "Port on 127.0.0.1 (0 takes a free one)", DefaultValueFactory = _ => 8080 };
        var cmd = new Command("serve", "A live dashboard in the browser: sweeps, runs, loss curves with spikes and rollbacks, update ratios, gates, "
                                       + "audit trails and the comparison, updated as the journal is written (read-only; safe while sweeps run)")
            { port, HistoryAccess.Config, HistoryAccess.Set };
        cmd.SetAction((r, ct) =>
        {
            var p = r.GetValue(port);
            if (p is < 0 or > 65535) return Task.FromResult(GlobalOptions.Fail($"--port: expected 0 to 65535, got {p}"));
            var workdir = r.GetValue(GlobalOptions.Workdir)!;
            return HistoryAccess.With(HistoryAccess.Source(r), workdir, async host =>
            {
                using var stop = new CancellationTokenSource();
                GlobalOptions.OnCtrlC("stopping the dashboard", stop.Cancel, sigterm: true);
                try { await Dashboard.Run(host, p, OrchestratorHost.JournalName(host.Settings, workdir), stop.Token); }
                catch (IOException e) { return GlobalOptions.Fail($"cannot serve on 127.0.0.1:{p}: {e.Message} (choose another with --port)", GlobalOptions.Failed); }
                Console.WriteLine("dashboard stopped");
                return 0;
            });
        });
        return cmd;
    }
}
