using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>The read commands' stdout after a real sweep holds only their output: JSON that parses, every time.</summary>
public sealed class CleanOutputTests : IClassFixture<FinishedSweep>
{
    readonly FinishedSweep s;

    public CleanOutputTests(FinishedSweep s) => this.s = s;

    Wesar.Result Ok(params string[] args)
    {
        var r = Wesar.Run(["--workdir", s.Work, .. args]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    [Fact]
    public void Sweep_run_prints_no_log_line_on_stdout() => Assert.DoesNotMatch(@"\[(DEBUG|INFO|WARNING|ERROR)\]", s.Stdout);

    [Fact]
    public void Sweep_status_json_parses_on_every_one_of_ten_calls()
    {
        for (var i = 0; i < 10; i++)
        {
            var json = JsonDocument.Parse(Ok("sweep", "status", s.Id, "--json").Stdout).RootElement;
            Assert.Equal(s.Id, json.GetProperty("id").GetString());
            Assert.All(json.GetProperty("runs").EnumerateArray(), r => Assert.Equal("completed", r.GetProperty("state").GetString()));
        }
    }

    [Fact]
    public void Runs_events_json_lines_parse_on_every_one_of_ten_calls()
    {
        for (var i = 0; i < 10; i++)
        {
            var lines = Ok("runs", "events", s.Run, "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("RunCompleted", JsonDocument.Parse(lines[^1]).RootElement.GetProperty("type").GetString());
            Assert.All(lines, l => JsonDocument.Parse(l));
        }
    }

    [Fact]
    public void Akkas_start_up_and_shutdown_lines_go_to_stderr()
    {
        // At DEBUG Akka's minimal logger always has something to say, before Serilog starts and after it stops.
        var r = Ok("sweep", "status", s.Id, "--json", "--set", "akka.stdout-loglevel=DEBUG");
        Assert.Equal(s.Id, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("id").GetString());
        Assert.Contains("[DEBUG]", r.Stderr);
        Assert.Contains("Shutting down", r.Stderr);
    }

    [Theory]
    [InlineData("foo", "--by foo: unknown key")]
    [InlineData("scheme,seeds", "--by seeds: unknown key (did you mean seed?)")]
    [InlineData("optim.lrr", "--by optim.lrr: unknown key (did you mean optim.lr?)")]
    public void Compare_by_an_unknown_key_is_refused(string by, string message)
    {
        var r = Wesar.Run("--workdir", s.Work, "sweep", "compare", s.Id, "--by", by);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {message}", r.Stderr.Trim());
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Compare_by_a_config_key_groups_by_its_value() =>
        Assert.Equal(["1", "2"], JsonDocument.Parse(Ok("sweep", "compare", s.Id, "--by", "run.seed", "--json").Stdout).RootElement
            .EnumerateArray().Select(c => c.GetProperty("keys")[0].GetString()));
}
