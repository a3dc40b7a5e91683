using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Serve;

/// <summary>
/// `wesar serve`: Kestrel on loopback over a read-only journal. JSON endpoints (the <see cref="DashboardViews"/>),
/// one page and one script, and /api/live: the journal's live query (events by the tag every sweep event has)
/// as server-sent events, so the page sees what any process writes to the same journal; /metrics, the journal's
/// figures for Prometheus (<see cref="JournalMetrics"/>).
/// </summary>
public static class Dashboard
{
    static readonly JsonSerializerOptions Compact = new(Tables.Json) { WriteIndented = false };

    /// <summary>Serves until <paramref name="stop"/> is cancelled; returns when the server has stopped.</summary>
    /// <param name="port">0 takes a free port.</param>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task Run(OrchestratorHost host, int port, string journal, CancellationToken stop)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Ctrl-C is the command's own (GlobalOptions.OnCtrlC), as for every command; the host must not take the signal too.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var app = builder.Build();
        Map(app, host);
        await app.StartAsync(CancellationToken.None);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine($"dashboard at {url}/ (journal {journal}); Ctrl-C to stop");
        try { await Task.Delay(Timeout.Infinite, stop); }
        catch (OperationCanceledException) { }
        // Stopping ends the live streams (ApplicationStopping), so no request holds the stop up.
        await app.StopAsync(CancellationToken.None);
    }

    static void Map(WebApplication app, OrchestratorHost host)
    {
        var history = host.History;
        var slots = host.Settings.Slots.Count;
        var stopping = app.Lifetime.ApplicationStopping;

        app.MapGet("/metrics", async () => Results.Text(await JournalMetrics.Scrape(history), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/{**file}", (string file) => Asset(file));

        app.MapGet("/api/sweeps", async () =>
        {
            var sweeps = new List<DashboardViews.SweepSummary>();
            var offset = 0L;
            foreach (var id in await history.SweepIds())
            {
                if (await history.Read(id) is not { } read) continue;
                sweeps.Add(DashboardViews.Summary(read.State));
                offset = Math.Max(offset, read.Events.Max(e => e.Offset));
            }
            return Json(new DashboardViews.Overview(offset, sweeps));
        });

        app.MapGet("/api/sweeps/{id}", async (string id) =>
            await history.Read(new SweepId(id)) is { } read ? Json(DashboardViews.Detail(read, slots)) : NoSweep(id, host.Workdir));

        app.MapGet("/api/sweeps/{id}/compare", async (string id, string? by) =>
        {
            var keys = (by ?? "scheme,lr").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (Comparison.Problem(keys) is { } problem) return Error(StatusCodes.Status400BadRequest, problem);
            var runs = await history.Runs(new SweepId(id));
            return runs.Count == 0 ? NoSweep(id, host.Workdir)
                : Json(new DashboardViews.Compare(Tables.PivotOf(keys, Comparison.Build(runs, keys)), Tables.ComparisonLegend));
        });

        app.MapGet("/api/sweeps/{id}/runs/{run}/events", async (string id, string run) =>
            await history.Read(new SweepId(id)) is { } read ? Json(DashboardViews.Trail(read.Events, run)) : NoSweep(id, host.Workdir));

        app.MapGet("/api/sweeps/{id}/runs/{run}/curve", async (string id, string run) =>
        {
            if (await history.Read(new SweepId(id)) is not { } read) return NoSweep(id, host.Workdir);
            if (read.State.Run(new RunId(run)) is not { } status) return Error(StatusCodes.Status404NotFound, $"no run '{run}' in sweep {id}");
            var metrics = DashboardViews.ReadMetrics(Path.Combine(status.Spec.Dir(host.SharedDir, read.State.Id), MetricsLog.FileName));
            return Json(DashboardViews.CurveOf(metrics, read.Events, run));
        });

        // A browser that reconnects sends the id of the last event it had (Last-Event-ID); a new page names the offset it read up to.
        app.MapGet("/api/live", async (HttpContext http, long? after) =>
        {
            var from = long.TryParse(http.Request.Headers["Last-Event-ID"], out var last) ? last : after ?? 0;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.WriteAsync(": following the journal\n\n");
            await http.Response.Body.FlushAsync();
            using var ends = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
            try
            {
                await history.FollowAll(from, async e =>
                {
                    await http.Response.WriteAsync($"id: {e.Offset}\nevent: journal\ndata: {JsonSerializer.Serialize(DashboardViews.Audit(e), Compact)}\n\n");
                    await http.Response.Body.FlushAsync();
                }, ends.Token);
            }
            // The page went away while an event was being written to it.
            catch (Exception e) when (ends.IsCancellationRequested || e is IOException or ObjectDisposedException) { }
        });
    }

    static IResult Json<T>(T value) => Results.Json(value, Compact);

    static IResult Error(int status, string message) => Results.Json(new { error = message }, Compact, statusCode: status);

    static IResult NoSweep(string id, string workdir) => Error(StatusCodes.Status404NotFound, SweepRejected.NoSweep(id, workdir));

    static readonly Dictionary<string, string> ContentTypes = new()
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8", [".css"] = "text/css; charset=utf-8",
    };

    // The page, its script and uPlot are resources of this assembly (WeSaR.Cli.csproj), so the dashboard is the one file `wesar` is.
    static IResult Asset(string file)
    {
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("wwwroot/" + file);
        return stream is not null && ContentTypes.TryGetValue(Path.GetExtension(file), out var type)
            ? Results.Stream(stream, type)
            : Error(StatusCodes.Status404NotFound, $"no such page: /{file}");
    }

    sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
