using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using WeSaR.TestSupport;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace WeSaR.Cli.Tests;

/// <summary>
/// `wesar serve` as a user meets it: a real server process over a real journal, the page in headless Chromium, and
/// a sweep run by another process into the same journal while the page is open.
/// </summary>
public sealed class ServeTests(FinishedSweep sweep, ITestOutputHelper output) : IClassFixture<FinishedSweep>
{
    static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 30_000 };

    [ChromiumFact]
    public Task On_a_SQLite_journal_the_page_shows_its_numbers_and_a_new_sweeps_events_arrive_without_a_reload() =>
        Dashboard(sweep.Work, sweep.Dir.Path, sweep.Id, [], []);

    [ChromiumPostgresFact]
    public async Task On_a_PostgreSQL_journal_the_page_shows_its_numbers_and_a_new_sweeps_events_arrive_without_a_reload()
    {
        using var db = new PostgresDatabase();
        using var dir = TestEnv.NewTempDir();
        var env = new Dictionary<string, string> { ["WESAR_POSTGRES"] = db.ConnectionString };
        string[] journal = ["--set", "orchestrator.journal.provider=postgresql"];
        var work = Path.Combine(dir.Path, "work");
        var first = Wesar.Run(TimeSpan.FromMinutes(10), env, ["--workdir", work, "sweep", "run", TestSweeps.Write(dir.Path, "short", "run.seed = [1, 2]", 6), .. journal]);
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        await Dashboard(work, dir.Path, Regex.Match(first.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value, journal, env);
    }

    [Fact]
    public async Task Its_metrics_endpoint_gives_the_journals_figures_for_prometheus()
    {
        using var serve = new RunningWesar("--workdir", sweep.Work, "serve", "--port", FreePort.Next().ToString(CultureInfo.InvariantCulture));
        var url = Regex.Match(serve.WaitFor(l => l.StartsWith("dashboard at ", StringComparison.Ordinal), TimeSpan.FromMinutes(1)), @"http://\S+/").Value;
        using var http = new HttpClient();
        var text = await http.GetStringAsync(url + "metrics");
        double Value(string series) =>
            double.Parse(Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value
                : throw new Xunit.Sdk.XunitException($"no {series} in:\n{text}"), CultureInfo.InvariantCulture);

        var runs = JsonDocument.Parse(Wesar.Run("--workdir", sweep.Work, "runs", "list", "--sweep", sweep.Id, "--json").Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(runs.Count, Value($"wesar_journal_runs{{sweep=\"{sweep.Id}\",state=\"completed\"}}"));
        foreach (var r in runs)
        {
            var labels = $"{{sweep=\"{sweep.Id}\",run=\"{r.GetProperty("run").GetString()}\",scheme=\"{r.GetProperty("scheme").GetString()}\"}}";
            Assert.Equal(r.GetProperty("step").GetInt64(), Value("wesar_journal_run_step" + labels));
            Assert.Equal(r.GetProperty("spikes").GetInt32(), Value("wesar_journal_run_spikes" + labels));
            Assert.Equal(r.GetProperty("restarts").GetInt32(), Value("wesar_journal_run_restarts" + labels));
            Assert.Equal(r.GetProperty("val_loss").GetDouble(), Value("wesar_journal_run_val_loss" + labels), 6);
        }
    }

    [Fact]
    public void A_port_out_of_range_is_bad_input_and_a_port_taken_a_failure_each_in_one_line()
    {
        var range = Wesar.Run("--workdir", sweep.Work, "serve", "--port", "70000");
        Assert.Equal((2, "error: --port: expected 0 to 65535, got 70000\n"), (range.ExitCode, range.Stderr));

        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            var r = Wesar.Run("--workdir", sweep.Work, "serve", "--port", port.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"error: cannot serve on 127.0.0.1:{port}: ", r.Stderr);
            Assert.EndsWith("(choose another with --port)\n", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        finally { taken.Stop(); }

        using var empty = TestEnv.NewTempDir();
        var none = Wesar.Run("--workdir", empty.Path, "serve");
        Assert.Equal(2, none.ExitCode);
        Assert.StartsWith($"error: no journal in {empty.Path}", none.Stderr);
    }

    /// <param name="journal">The journal's --set options, for every command.</param>
    async Task Dashboard(string work, string dir, string id, string[] journal, Dictionary<string, string> env)
    {
        Wesar.Result Cli(params string[] args) => Wesar.Run(TimeSpan.FromMinutes(10), env, ["--workdir", work, .. args, .. journal]);
        using var serve = new RunningWesar(env, ["--workdir", work, "serve", "--port", FreePort.Next().ToString(CultureInfo.InvariantCulture), .. journal]);
        var url = Regex.Match(serve.WaitFor(l => l.StartsWith("dashboard at ", StringComparison.Ordinal), TimeSpan.FromMinutes(1)), @"http://\S+/").Value;
        var status = Cli("sweep", "status", id, "--json").Json();

        using var profile = TestEnv.NewTempDir();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile.Path,
            new() { ExecutablePath = ChromiumFactAttribute.Executable, Headless = true, Args = ChromiumFactAttribute.Args, ViewportSize = new() { Width = 1400, Height = 1000 } });
        var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
        await page.GotoAsync($"{url}#sweep={id}");

        // The runs table says what `sweep status --json` says.
        var runs = status.GetProperty("runs").EnumerateArray().ToList();
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(runs.Count, Soon);
        foreach (var r in runs)
        {
            var row = page.Locator($"#runs tr[data-run='{r.GetProperty("run").GetString()}']");
            await Expect(row.Locator("[data-field=state]")).ToHaveTextAsync(r.GetProperty("state").GetString()!);
            await Expect(row.Locator("[data-field=step]")).ToHaveTextAsync($"{r.GetProperty("step").GetInt64()}/{r.GetProperty("steps").GetInt64()}");
            await Expect(row.Locator("[data-field=val_loss]")).ToHaveTextAsync(r.GetProperty("val_loss").GetDouble().ToString("F4", CultureInfo.InvariantCulture));
            await Expect(row.Locator("[data-field=loss]")).ToHaveTextAsync(r.GetProperty("last_loss").GetDouble().ToString("F4", CultureInfo.InvariantCulture));
            foreach (var f in new[] { "spikes", "rollbacks", "restarts" })
                await Expect(row.Locator($"[data-field={f}]")).ToHaveTextAsync(r.GetProperty(f).GetInt32().ToString(CultureInfo.InvariantCulture));
        }

        // A run's audit trail is the one `runs events` prints; its loss curve is drawn.
        var first = runs[0].GetProperty("run").GetString()!;
        await page.Locator($"#runs tr[data-run='{first}']").ClickAsync();
        var events = Cli("runs", "events", $"{id}/{first}", "--json");
        Assert.Equal(0, events.ExitCode);
        var offsets = events.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("offset").GetInt64().ToString(CultureInfo.InvariantCulture)).ToList();
        await Expect(page.Locator($"#trail li[data-run='{first}']")).ToHaveCountAsync(offsets.Count, Soon);
        Assert.Equal(string.Join(",", offsets), await page.Locator("#trail li").EvaluateAllAsync<string>("items => items.map(li => li.dataset.offset).join(',')"));
        await Expect(page.Locator("#loss-chart canvas")).ToHaveCountAsync(1);
        await Expect(page.Locator("#compare tbody tr")).Not.ToHaveCountAsync(0);

        // Another process writes a new sweep into the same journal; the page has it without being loaded again.
        await page.EvaluateAsync("() => { window.sameDocument = true; }");
        var another = await Task.Run(() => Cli("sweep", "run", TestSweeps.Write(dir, "another", "run.seed = [3]", 6)));
        Assert.True(another.ExitCode == 0, another.Stdout + another.Stderr);
        var newId = Regex.Match(another.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value;
        await Expect(page.Locator($"#feed li[data-sweep='{newId}'][data-type=SweepCompleted]")).ToHaveCountAsync(1, Soon);
        await Expect(page.Locator($"#sweeps tr[data-sweep='{newId}'] [data-field=state]")).ToHaveTextAsync("completed");
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"));

        // From each event's write time in the journal to the page showing it (one clock: the same machine).
        var shown = await page.Locator($"#feed li[data-sweep='{newId}']").EvaluateAllAsync<string>(
            "items => items.map(li => [li.dataset.type, li.dataset.at, li.dataset.seen].join(' ')).join('\\n')");
        var latencies = shown.Split('\n').Select(s => s.Split(' ')).Select(s => (Type: s[0],
            Ms: long.Parse(s[2], CultureInfo.InvariantCulture) - DateTimeOffset.Parse(s[1], CultureInfo.InvariantCulture).ToUnixTimeMilliseconds())).OrderBy(x => x.Ms).ToList();
        output.WriteLine($"latency from journal write to page, {latencies.Count} events of sweep {newId}: min {latencies[0].Ms} ms, "
                         + $"median {latencies[latencies.Count / 2].Ms} ms, max {latencies[^1].Ms} ms");
        foreach (var (type, ms) in latencies) output.WriteLine($"  {type}: {ms} ms");

        var screenshot = Path.Combine(TestEnv.RepoRoot, "TestResults", $"dashboard-{(journal.Length == 0 ? "sqlite" : "postgresql")}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        // Ctrl-C stops it cleanly.
        using (var kill = Process.Start("kill", ["-INT", serve.Pid.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.Equal(0, serve.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains("dashboard stopped", serve.Output);
    }
}
