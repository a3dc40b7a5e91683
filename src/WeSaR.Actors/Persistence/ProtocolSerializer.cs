using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Persistence;

/// <summary>
/// JSON with a short, versioned, string manifest for every persisted type (events and the coordinator's
/// snapshot), so journals outlive renames and refactorings. A new shape gets a new manifest; old manifests
/// keep mapping to a type that reads them. Unknown manifests fail loudly.
/// </summary>
public sealed class ProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    static readonly Dictionary<string, Type> Types = new()
    {
        ["SweepStarted.v1"] = typeof(SweepStarted),
        ["RunScheduled.v1"] = typeof(RunScheduled),
        ["RunAssigned.v1"] = typeof(RunAssigned),
        ["CheckpointCommitted.v1"] = typeof(CheckpointCommitted),
        ["CheckpointRejected.v1"] = typeof(CheckpointRejected),
        ["SpikeDetected.v1"] = typeof(SpikeDetected),
        ["RolledBack.v1"] = typeof(RolledBack),
        ["RunRestarted.v1"] = typeof(RunRestarted),
        ["RunCompleted.v1"] = typeof(RunCompleted),
        ["RunFailed.v1"] = typeof(RunFailed),
        ["SweepCompleted.v1"] = typeof(SweepCompleted),
        ["RunRetried.v1"] = typeof(RunRetried),
        ["SweepState.v1"] = typeof(SweepState),
        ["SweepAdmitted.v1"] = typeof(Cluster.SweepAdmitted),
    };
    static readonly Dictionary<Type, string> Manifests = Types.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Every manifest a journal may hold (the golden-payload tests cover each).</summary>
    public static IReadOnlyCollection<string> PersistedManifests => Types.Keys;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public override int Identifier => 4170;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"{o.GetType()} is not a persisted type of {nameof(ProtocolSerializer)}");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);

    public override object FromBinary(byte[] bytes, string manifest) =>
        Types.TryGetValue(manifest, out var t)
            ? JsonSerializer.Deserialize(bytes, t, Json)!
            : throw new System.Runtime.Serialization.SerializationException($"unknown manifest '{manifest}' (written by a newer wesar?)");
}
