using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// The read commands against a journal they cannot read, made for real: a truncated or overwritten SQLite file, a
/// read-only folder (a read-only bind mount), PostgreSQL refusing the login or not listening. One line saying why,
/// exit 1, no stack trace, the file untouched.
/// </summary>
public sealed class ReadCommandFaultTests : IClassFixture<FinishedSweep>
{
    readonly FinishedSweep s;

    public ReadCommandFaultTests(FinishedSweep s) => this.s = s;

    string[][] ReadCommands(string outDir) =>
    [
        ["sweep", "list"], ["sweep", "status", s.Id], ["sweep", "status", s.Id, "--json"], ["sweep", "compare", s.Id], ["sweep", "goodput", s.Id], ["sweep", "stability", s.Id],
        ["runs", "list"], ["runs", "show", s.Run], ["runs", "events", s.Run], ["report", s.Id, "--out", outDir], ["sql", "select count(*) from runs"],
    ];

    static void AssertOneLine(Wesar.Result r, string expected)
    {
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        Assert.Matches($"^error: cannot read the journal .*{expected}.*; nothing was changed\n$", r.Stderr);
        Assert.DoesNotContain("Unhandled", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("overwritten")]
    public void A_damaged_journal_is_named_with_its_cause_and_left_as_it_is(string damage)
    {
        using var d = TestEnv.NewTempDir();
        var journal = Path.Combine(d.Path, "journal.db");
        File.Copy(Path.Combine(s.Work, "journal.db"), journal);
        var length = new FileInfo(journal).Length;
        if (damage == "truncated")
        {
            using var f = new FileStream(journal, FileMode.Open);
            f.SetLength(length / 2);
        }
        else
        {
            using var f = new FileStream(journal, FileMode.Open);
            f.Position = 8192;   // past the header page: the file still opens as a database
            f.Write(RandomNumberGenerator.GetBytes((int)Math.Min(20_000, length - 8192)));
        }
        var before = SHA256.HashData(File.ReadAllBytes(journal));
        foreach (var command in ReadCommands(Path.Combine(d.Path, "report")))
            AssertOneLine(Wesar.Run(["--workdir", d.Path, .. command]), damage == "truncated" ? "malformed" : "damaged|malformed");
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(journal)));
        Assert.False(Directory.Exists(Path.Combine(d.Path, "report")));
    }

    [MountFact]
    public void Read_commands_work_on_a_journal_in_a_read_only_folder()
    {
        using var d = TestEnv.NewTempDir();
        var ro = Path.Combine(d.Path, "ro");
        Directory.CreateDirectory(ro);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Sh("mount", "--bind", s.Work, ro);
        try
        {
            Sh("mount", "-o", "remount,ro,bind", ro);
            Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(ro, "probe"), "x"));   // truly read-only
            foreach (var command in ReadCommands(Path.Combine(d.Path, "report")))
            {
                var here = Wesar.Run(["--workdir", ro, .. command]);
                Assert.True(here.ExitCode == 0, $"{string.Join(' ', command)}: exit {here.ExitCode}\n{here.Stdout}\n{here.Stderr}");
                if (command[0] != "report") Assert.Equal(Wesar.Run(["--workdir", s.Work, .. command]).Stdout, here.Stdout.Replace(ro, s.Work));
            }
            Assert.True(File.Exists(Path.Combine(d.Path, "report", "index.html")));
        }
        finally { Sh("umount", ro); }
    }

    [PostgresFact]
    public void A_refused_postgres_login_is_named_by_its_sqlstate_on_read_and_run_commands()
    {
        var wrong = new Npgsql.NpgsqlConnectionStringBuilder(PostgresFactAttribute.ConnectionString) { Password = "not-the-password" };
        var env = new Dictionary<string, string> { ["WESAR_POSTGRES"] = wrong.ConnectionString };
        using var d = TestEnv.NewTempDir();
        string[] pg = ["--set", "orchestrator.journal.provider=postgresql"];
        foreach (var command in ReadCommands(Path.Combine(d.Path, "report")))
            AssertOneLine(Wesar.Run(TimeSpan.FromMinutes(2), env, ["--workdir", d.Path, .. command, .. pg]), "28P01: password authentication failed");
        // `sweep run` says the same, after checking its data (it prints what it tokenized).
        var run = Wesar.Run(TimeSpan.FromMinutes(2), env, ["--workdir", d.Path, "sweep", "run", TestSweeps.Write(d.Path, "pg", "run.seed = [1]", 4), .. pg]);
        Assert.Equal(1, run.ExitCode);
        Assert.EndsWith($"28P01: password authentication failed for user \"{wrong.Username}\"; nothing was changed\n", run.Stderr);
        Assert.DoesNotContain("Unhandled", run.Stderr);
    }

    [Fact]
    public void A_postgres_server_that_does_not_listen_is_named_with_its_address()
    {
        var port = FreePort.Next();
        var env = new Dictionary<string, string> { ["WESAR_POSTGRES"] = $"Host=127.0.0.1;Port={port};Database=wesar;Username=wesar;Password=wesar" };
        using var d = TestEnv.NewTempDir();
        foreach (var command in ReadCommands(Path.Combine(d.Path, "report")))
            AssertOneLine(Wesar.Run(TimeSpan.FromMinutes(2), env, ["--workdir", d.Path, .. command, "--set", "orchestrator.journal.provider=postgresql"]),
                $"at PostgreSQL 127.0.0.1:{port}/wesar: Failed to connect to 127.0.0.1:{port} \\(Connection refused\\)");
    }

    static void Sh(string file, params string[] args)
    {
        using var p = System.Diagnostics.Process.Start(file, args);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: exit {p.ExitCode}");
    }
}
