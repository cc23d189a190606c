// The story through the generated Kotlin bindings on the JVM (JNA loads the library):
// two endpoints, a session, the agreement, a message sent and received, a refusal, a replay and
// garbage refused with typed exceptions, prekey rotation and a session repair, both stores
// reopened, and a second device linked. `ffi/check-kotlin.sh` runs it.

import confidant.*
import java.nio.file.Files

var passed = 0
var failed = 0

fun check(name: String, condition: Boolean) {
    if (condition) passed++ else { failed++; System.err.println("FAIL: $name") }
}

inline fun <reified E : Throwable> throws(name: String, block: () -> Unit) {
    try {
        block()
        check("$name throws ${E::class.simpleName}", false)
    } catch (e: Throwable) {
        check("$name throws ${E::class.simpleName} (got ${e::class.simpleName})", e is E)
    }
}

fun main() {
    val dir = Files.createTempDirectory("confidant-kotlin")
    fun clinician() = Endpoint.open(dir.resolve("clinician.db").toString(), "clinician pass", Role.CLINICIAN, "dr-lee")
    fun client() = Endpoint.open(dir.resolve("client.db").toString(), "client pass", Role.CLIENT, "sam")
    var drLee = clinician()
    var sam = client()
    check("identity key is 32 bytes", drLee.identityKey().size == 32)

    drLee.startSession("sam", sam.prekeyBundle())
    val days = listOf(Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY,
        Weekday.FRIDAY, Weekday.SATURDAY, Weekday.SUNDAY)
    val terms = usualTerms(1u, "America/New_York", days, 0u, (24 * 60).toUShort(), "Within a day.",
        listOf("Call or text 988"), listOf(Category.APPOINTMENT_CONFIRM))
    val proposed = sam.receive("dr-lee", drLee.proposeAgreement("sam", terms)).received
    check("proposal arrives", proposed is Received.AgreementProposed)
    val accepted = drLee.receive("sam", sam.acceptAgreement("dr-lee", (proposed as Received.AgreementProposed).id)).received
    check("agreement accepted", accepted is Received.AgreementAccepted)
    check("safety numbers match", drLee.safetyNumber("sam").digits == sam.safetyNumber("dr-lee").digits)

    val sent = sam.send("dr-lee", Draft(Category.APPOINTMENT_CONFIRM, "See you Thursday"))
    check("allowed", sent.decision is Decision.Allowed)
    val envelope = sent.envelope!!
    val message = (drLee.receive("sam", envelope).received as Received.Message).message
    check("text arrives", message.text == "See you Thursday")
    val refused = sam.send("dr-lee", Draft(Category.CHECK_IN, "Can we talk tonight?"))
    check("check-in refused", refused.envelope == null && refused.decision is Decision.OutOfScope)
    throws<ConfidantException.Duplicate>("replay") { drLee.receive("sam", envelope) }
    throws<ConfidantException.Malformed>("garbage") { drLee.receive("sam", byteArrayOf(1, 2, 3)) }
    throws<ConfidantException>("empty peer") { drLee.history("") }

    // Prekeys, repair and identity keys: a receive that fails for want of a session suggests a
    // repair, and the peer sends its messages again on a new session.
    val rotation = sam.rotatePrekeys()
    check("rotation makes the last-resort bundle", rotation.rotated && rotation.bundle.contentEquals(sam.lastResortBundle()))
    check("bundle identity key", bundleIdentityKey(rotation.bundle).contentEquals(sam.identityKey()))
    check("safety number with the trusted key",
        drLee.safetyNumberWith("sam", sam.identityKey()).digits == drLee.safetyNumber("sam").digits)
    val fresh = sam.send("dr-lee", Draft(Category.APPOINTMENT_CONFIRM, "Running late")).envelope!!
    val tampered = fresh.copyOf()
    tampered[tampered.size - 1] = (tampered[tampered.size - 1].toInt() xor 1).toByte()
    try {
        drLee.receive("sam", tampered)
        check("tampered envelope refused", false)
    } catch (e: ConfidantException.DecryptionFailed) {
        check("a failed decryption suggests a repair", e.suggestsRepair())
    }
    check("the genuine one arrives", (drLee.receive("sam", fresh).received as Received.Message).message.text == "Running late")
    try {
        drLee.receive("sam", envelope)
        check("replay refused", false)
    } catch (e: ConfidantException) {
        check("a replay does not suggest a repair", !e.suggestsRepair())
    }
    val resent = sam.acceptRepairRequest("dr-lee", drLee.repairRequest("sam"))
    check("repair resends the client's messages", resent.isNotEmpty())
    // Each copy is one the clinician holds: the messages, and the acceptance of the agreement
    // already in force, are duplicates.
    val refusals = resent.map { copy ->
        try {
            drLee.receive("sam", copy)
            null
        } catch (e: ConfidantException) {
            e
        }
    }
    check("every resent copy is refused as a duplicate", refusals.all { it is ConfidantException.Duplicate })
    check("the copies are the two messages and the acceptance", refusals.size == 3)
    throws<ConfidantException.RepairTooSoon>("second repair") {
        sam.acceptRepairRequest("dr-lee", drLee.repairRequest("sam"))
    }

    drLee.close()
    sam.close()
    throws<ConfidantException.WrongPassphrase>("wrong passphrase") {
        Endpoint.open(dir.resolve("client.db").toString(), "wrong", Role.CLIENT, "sam")
    }
    drLee = clinician()
    sam = client()
    check("history survives", drLee.history("sam").any { it.text == "See you Thursday" })
    val again = sam.send("dr-lee", Draft(Category.APPOINTMENT_CONFIRM, "Still on"))
    check("sessions survive", (drLee.receive("sam", again.envelope!!).received as Received.Message).message.text == "Still on")

    // A desktop for Dr. Lee, linked in person; Sam takes the new list, and the desktop gets the
    // agreement from the phone and Sam's message from the outbox.
    val desktop = Endpoint.open(dir.resolve("desktop.db").toString(), "desktop pass", Role.CLINICIAN, "dr-lee")
    val linked = drLee.acceptLink(desktop.requestLink(drLee.offerLink(), "desktop"))
    desktop.completeLink(linked.response)
    check("desktop linked", !desktop.isPrimary() && desktop.personKey().contentEquals(drLee.identityKey()))
    throws<ConfidantException.NotPrimary>("offer on a linked device") { desktop.offerLink() }
    val change = sam.updateDevices("dr-lee", linked.devices)
    check("desktop added", change.added.size == 1 && change.added[0].contentEquals(desktop.identityKey()))
    throws<ConfidantException.DeviceRefused>("replayed list") { sam.updateDevices("dr-lee", linked.devices) }
    sam.startSession("dr-lee", desktop.prekeyBundle())
    drLee.startSession("dr-lee", desktop.prekeyBundle())
    check("one agreement copied", drLee.syncAgreements(desktop.identityKey()) == 1u)
    val copy = drLee.takeOutbox().single()
    check("agreement synced", desktop.receiveFrom("dr-lee", drLee.identityKey(), copy.envelope).received is Received.AgreementSynced)
    sam.send("dr-lee", Draft(Category.APPOINTMENT_CONFIRM, "To both"))
    val forDesktop = sam.takeOutbox().single()
    check("outbox names the desktop", forDesktop.device.contentEquals(desktop.identityKey()))
    val onDesktop = desktop.receiveFrom("sam", sam.identityKey(), forDesktop.envelope).received
    check("desktop reads it", (onDesktop as? Received.Message)?.message?.text == "To both")

    println("$passed passed, $failed failed")
    if (failed != 0) kotlin.system.exitProcess(1)
}
