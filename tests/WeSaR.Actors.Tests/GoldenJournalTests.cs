using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Serialization;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>
/// Journals outlive versions: what version 1 wrote, frozen under Golden/, reads with this build. A SQLite journal
/// file and a PostgreSQL dump of one real sweep (two runs, each with a restart, a spike and a rollback), and one
/// payload of every persisted type. A change that breaks them needs a new manifest (ProtocolSerializer), not new
/// golden files. `WESAR_FREEZE_GOLDEN=1` adds a payload for a new persisted type to payloads.v1.json (frozen ones
/// stay) and writes journal.v1.expected.json.
/// </summary>
public sealed class GoldenJournalTests : IAsyncLifetime
{
    static readonly string Golden = Path.Combine(TestEnv.RepoRoot, "tests", "WeSaR.Actors.Tests", "Golden");
    static readonly bool Freeze = Environment.GetEnvironmentVariable("WESAR_FREEZE_GOLDEN") == "1";

    readonly TempDir dir = TestEnv.NewTempDir();
    ActorSystem system = null!;

    public Task InitializeAsync()
    {
        var (settings, config) = SweepHarness.Config();
        system = ActorSystem.Create("golden", OrchestratorHost.SystemConfig(settings, config, dir.Path));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await system.Terminate();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    [Fact]
    public void A_frozen_v1_payload_of_every_persisted_type_reads_as_the_event_it_was()
    {
        var path = Path.Combine(Golden, "payloads.v1.json");
        var expected = ((IEnumerable<object[]>)ProtocolSerializerTests.Persisted()).Select(row => row[0]).Append(SweepState.Empty(new SweepId("s-1"))
            .Apply(new SweepStarted(new SweepId("s-1"), "s", [new RunSpec(new RunId("r-1"), "scheme=he", "train.steps = \"40\"")], 3, DateTime.UnixEpoch))).ToList();
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(expected[0]);
        if (Freeze) FreezeNew(path, expected, serializer);

        var frozen = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        Assert.Equal(ProtocolSerializer.PersistedManifests.Order(), frozen.Select(f => (string)f!["manifest"]!).Distinct().Order());
        Assert.Equal(expected.Count, frozen.Count);
        foreach (var (e, f) in expected.Zip(frozen, (e, f) => (e, f!)))
        {
            var read = serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(f["payload"]!.ToJsonString()), (string)f["manifest"]!);
            Assert.Equal(e.GetType(), read.GetType());
            // Records compare by value, lists inside by reference: compare what this build writes for each.
            Assert.Equal(JsonSerializer.Serialize(e, e.GetType(), ProtocolSerializer.Json), JsonSerializer.Serialize(read, read.GetType(), ProtocolSerializer.Json));
        }
    }

    // Adds a payload for each sample the file lacks, at its place; frozen payloads stay as they were written.
    static void FreezeNew(string path, IReadOnlyList<object> samples, SerializerWithStringManifest serializer)
    {
        var frozen = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsArray().Select(f => f!.DeepClone()).ToList() : [];
        var merged = new JsonArray();
        var next = 0;
        foreach (var e in samples)
            merged.Add(next < frozen.Count && (string)frozen[next]["manifest"]! == serializer.Manifest(e)
                ? frozen[next++]
                : new JsonObject { ["manifest"] = serializer.Manifest(e), ["payload"] = JsonNode.Parse(serializer.ToBinary(e)) });
        File.WriteAllText(path, merged.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    [Fact]
    public async Task A_sqlite_journal_written_by_v1_reads_with_this_build()
    {
        var work = Path.Combine(dir.Path, "sqlite");
        Directory.CreateDirectory(work);
        File.Copy(Path.Combine(Golden, "journal.v1.db"), Path.Combine(work, "journal.db"));
        await AssertReadsAsFrozen(work, []);
    }

    [PostgresFact]
    public async Task A_postgresql_dump_written_by_v1_reads_with_this_build()
    {
        using var db = new PostgresDatabase();
        await using (var c = new Npgsql.NpgsqlConnection(db.ConnectionString))
        {
            await c.OpenAsync();
            await using var restore = new Npgsql.NpgsqlCommand(await File.ReadAllTextAsync(Path.Combine(Golden, "journal.v1.pgsql")), c);
            await restore.ExecuteNonQueryAsync();
        }
        await AssertReadsAsFrozen(Path.Combine(dir.Path, "pg"), ["orchestrator.journal.provider=postgresql", $"orchestrator.journal.postgresql={db.ConnectionString}"]);
    }

    /// <summary>The sweep's state, its run records and its event sequence, as journal.v1.expected.json holds them.</summary>
    static async Task AssertReadsAsFrozen(string work, string[] sets)
    {
        var (settings, config) = SweepHarness.Config(sets);
        await using var host = OrchestratorHost.Start(settings, config, work, readOnly: true);
        var id = Assert.Single(await host.History.SweepIds());
        var state = (await host.History.Load(id))!;
        var runs = await host.History.Runs(id);
        var events = await host.History.Events(id);
        var actual = new JsonObject
        {
            ["sweep"] = id.Value,
            ["phase"] = state.Phase.ToString(),
            ["runs"] = new JsonArray([.. runs.Select(r => new JsonObject
            {
                ["run"] = r.Run, ["label"] = r.Label, ["state"] = r.State.ToString().ToLowerInvariant(), ["step"] = r.Step, ["spikes"] = r.Spikes,
                ["rollbacks"] = r.Rollbacks, ["restarts"] = r.Restarts, ["val_loss"] = r.ValLoss, ["model_sha256"] = r.ModelSha256,
            })]),
            // Steps only: a checkpoint manifest's hash differs between the two frozen sweeps (it names its files' times).
            ["resume_steps"] = new JsonArray([.. state.Runs.Select(r => JsonValue.Create(r.Resume.Step))]),
            ["events"] = new JsonArray([.. events.Select(e => JsonValue.Create($"{e.SequenceNr} {e.Event.GetType().Name}"))]),
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var path = Path.Combine(Golden, "journal.v1.expected.json");
        if (Freeze && sets.Length == 0) File.WriteAllText(path, actual);
        Assert.Equal(File.ReadAllText(path), actual);
    }
}
