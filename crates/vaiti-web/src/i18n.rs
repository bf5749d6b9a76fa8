//! Every string of the interface, in one place, in Finnish and English.
//!
//! Each entry names its key once and gives every language next to it, so a translator sees the
//! whole row and the compiler refuses a language with a missing string: adding Swedish means
//! adding an `sv:` line to each entry and a variant to [`Lang`]. Strings with `{0}`, `{1}` take
//! values through [`fill`].

use serde::{Deserialize, Serialize};

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// Suomi.
    Fi,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order the switcher lists them.
    pub const ALL: [Lang; 2] = [Lang::Fi, Lang::En];

    /// The BCP 47 code (`<html lang>`, storage).
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Fi => "fi",
            Lang::En => "en",
        }
    }

    /// The language's own name, for the switcher.
    pub const fn own_name(self) -> &'static str {
        match self {
            Lang::Fi => "Suomeksi",
            Lang::En => "In English",
        }
    }

    /// The language for a code; Finnish for anything unknown (the clinic's language).
    pub fn from_code(code: &str) -> Lang {
        match code.get(..2) {
            Some("en") => Lang::En,
            _ => Lang::Fi,
        }
    }
}

macro_rules! strings {
    ($($key:ident { fi: $fi:expr, en: $en:expr $(,)? })*) => {
        /// A string of the interface.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Key { $($key,)* }

        impl Key {
            /// Every key (for completeness tests).
            pub const ALL: &'static [Key] = &[$(Key::$key,)*];
        }

        /// The text of `key` in `lang`.
        pub fn tr(lang: Lang, key: Key) -> &'static str {
            match lang {
                Lang::Fi => match key { $(Key::$key => $fi,)* },
                Lang::En => match key { $(Key::$key => $en,)* },
            }
        }
    };
}

/// Replaces `{0}`, `{1}`, … in `template` with `values`.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = template.to_string();
    for (i, v) in values.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), v);
    }
    out
}

strings! {
    AppName { fi: "vaiti", en: "vaiti" }
    Tagline { fi: "Potilastiedot, jotka vain hoitotiimi voi lukea", en: "Patient records only the care team can read" }
    Language { fi: "Kieli", en: "Language" }
    SkipToContent { fi: "Siirry sisältöön", en: "Skip to content" }

    // Sign in
    SignIn { fi: "Kirjaudu sisään", en: "Sign in" }
    SigningIn { fi: "Kirjaudutaan… salasanaa tarkistetaan laitteellasi", en: "Signing in… checking your password on this device" }
    ClinicCode { fi: "Klinikan tunnus", en: "Clinic ID" }
    ClinicCodeHelp { fi: "32 merkkiä, Hätäpaketista (Emergency Kit)", en: "32 characters, from your Emergency Kit" }
    LoginName { fi: "Sähköposti tai potilastunnus", en: "Email or patient handle" }
    Password { fi: "Salasana", en: "Password" }
    SecretKey { fi: "Salainen avain (Secret Key)", en: "Secret Key" }
    SecretKeyHelp { fi: "Alkaa V1-, Hätäpaketistasi. Tarvitaan uudella selaimella.", en: "Starts with V1-, from your Emergency Kit. Needed on a new browser." }
    RememberDevice { fi: "Tämä on oma laitteeni: muista klinikka, tunnus ja salainen avain", en: "This is my own device: remember clinic, login and Secret Key" }
    RememberDeviceHelp { fi: "Älä valitse yhteiskäytössä olevalla koneella. Salasanaa ei tallenneta koskaan.", en: "Do not choose this on a shared computer. The password is never stored." }
    ForgetDevice { fi: "Unohda tämä laite", en: "Forget this device" }
    UseAnotherAccount { fi: "Käytä toista tiliä", en: "Use another account" }
    SignedInAs { fi: "Kirjautuneena: {0}", en: "Signed in as {0}" }
    SignOut { fi: "Kirjaudu ulos", en: "Sign out" }
    HaveInvite { fi: "Sain kutsukoodin", en: "I have an invite code" }
    BackToSignIn { fi: "Takaisin kirjautumiseen", en: "Back to sign in" }

    // Sign up
    SignUp { fi: "Luo tili kutsulla", en: "Sign up with an invite" }
    InviteCode { fi: "Kutsukoodi", en: "Invite code" }
    InviteCodeHelp { fi: "Alkaa V1. — saat sen klinikalta", en: "Starts with V1. — your clinic gives it to you" }
    DisplayName { fi: "Nimesi (näkyy kollegoille)", en: "Your name (shown to colleagues)" }
    NewPassword { fi: "Uusi salasana (vähintään 10 merkkiä)", en: "New password (at least 10 characters)" }
    RepeatPassword { fi: "Salasana uudelleen", en: "Repeat the password" }
    PasswordsDiffer { fi: "Salasanat eivät täsmää. Kirjoita sama salasana kumpaankin kenttään.", en: "The passwords differ. Type the same password in both fields." }
    PasswordTooShort { fi: "Valitse vähintään 10 merkin salasana.", en: "Choose a password of at least 10 characters." }
    CreateAccount { fi: "Luo tili", en: "Create account" }
    CreatingAccount { fi: "Luodaan avaimia laitteellasi…", en: "Making your keys on this device…" }
    EmergencyKit { fi: "Hätäpaketti (Emergency Kit)", en: "Emergency Kit" }
    EmergencyKitIntro { fi: "Tämä näytetään vain kerran. Tulosta tai lataa se ja säilytä turvassa: ilman salaista avainta tiliä ei voi avata uudella laitteella, eikä kukaan voi palauttaa sitä puolestasi.", en: "This is shown only once. Print or download it and keep it safe: without the Secret Key your account cannot be opened on a new device, and nobody can recover it for you." }
    KitServer { fi: "Palvelin", en: "Server" }
    KitWritePassword { fi: "Salasana (kirjoita itse)", en: "Password (write it yourself)" }
    DownloadKit { fi: "Lataa Hätäpaketti", en: "Download Emergency Kit" }
    PrintKit { fi: "Tulosta", en: "Print" }
    KitSaved { fi: "Olen tallentanut Hätäpaketin", en: "I have saved my Emergency Kit" }
    JoinPending { fi: "Tili on luotu. Kutsujasi viimeistelee liittymisesi seuraavalla kirjautumisellaan; sen jälkeen pääset töihin.", en: "Your account is made. Your inviter completes your join the next time they sign in; then you can start." }

    // Shell
    Lock { fi: "Lukitse", en: "Lock" }
    HideScreen { fi: "Piilota näyttö (F8)", en: "Hide screen (F8)" }
    ScreenHidden { fi: "Näyttö on piilotettu", en: "The screen is hidden" }
    ShowScreen { fi: "Näytä (Enter)", en: "Show (Enter)" }
    Locked { fi: "Lukittu", en: "Locked" }
    LockedIntro { fi: "Istunto lukittiin {0} minuutin käyttämättömyyden jälkeen. Avaimet poistettiin muistista; keskeneräiset muistiinpanot on tallennettu salattuina.", en: "The session was locked after {0} minutes without activity. Keys were removed from memory; unfinished notes are saved, encrypted." }
    Unlock { fi: "Avaa", en: "Unlock" }
    SessionExpired { fi: "Istunto on päättynyt. Kirjaudu uudelleen — luonnoksesi on tallessa.", en: "Your session has ended. Sign in again — your draft is safe." }
    About { fi: "Tietoja", en: "About" }
    Loading { fi: "Ladataan…", en: "Loading…" }
    Decrypting { fi: "Puretaan salausta laitteellasi…", en: "Decrypting on this device…" }
    Cancel { fi: "Peruuta", en: "Cancel" }
    Save { fi: "Tallenna", en: "Save" }
    Back { fi: "Takaisin", en: "Back" }
    Close { fi: "Sulje", en: "Close" }
    Retry { fi: "Yritä uudelleen", en: "Try again" }
    Search { fi: "Hae", en: "Search" }
    NavCaseload { fi: "Asiakkaat", en: "Caseload" }
    NavPatients { fi: "Potilaat", en: "Patients" }
    NavAddPatient { fi: "Lisää potilas", en: "Add patient" }
    NavAdmin { fi: "Hallinta", en: "Administration" }
    NavMyNotes { fi: "Minulle jaetut", en: "Shared with me" }
    NavMyLog { fi: "Kuka on katsonut tietojani", en: "Who has accessed my record" }

    // Errors
    ErrLogin { fi: "Sähköposti, salasana tai salainen avain on väärin. Tarkista ne Hätäpaketistasi.", en: "Wrong email, password or Secret Key. Check them against your Emergency Kit." }
    ErrNetwork { fi: "Palvelimeen ei saada yhteyttä. Tarkista verkkoyhteys ja yritä uudelleen.", en: "Cannot reach the server. Check your connection and try again." }
    ErrSecurity { fi: "Turvatarkistus epäonnistui: {0}. Älä jatka; ilmoita klinikan ylläpitäjälle.", en: "A security check failed: {0}. Do not continue; tell your clinic's admin." }
    ErrRefused { fi: "Palvelin ei hyväksynyt pyyntöä: {0}", en: "The server refused: {0}" }
    ErrSecretKey { fi: "Salainen avain ei kelpaa: tarkista se Hätäpaketista (kirjoitusvirhe ei läpäise tarkistetta).", en: "That is not a valid Secret Key: check it against your Emergency Kit (a typo fails the checksum)." }
    ErrClinicCode { fi: "Klinikan tunnus on 32 heksadesimaalimerkkiä (0–9, a–f).", en: "The clinic ID is 32 hexadecimal characters (0–9, a–f)." }
    ErrRequired { fi: "Täytä tämä kenttä.", en: "Fill in this field." }
    ErrStorage { fi: "Selain ei salli tallennusta: {0}", en: "The browser does not allow storage: {0}" }

    // Caseload and charts
    Caseload { fi: "Asiakkaani", en: "My caseload" }
    CaseloadHelp { fi: "Lista avaa vain henkilötiedot, ei muistiinpanoja — se ei näy potilaan lokissa avauksena.", en: "This list opens identities only, never notes — it does not count as opening a chart." }
    FilterPatients { fi: "Suodata nimellä tai syntymäajalla", en: "Filter by name or birth date" }
    NoPatients { fi: "Ei potilaita.", en: "No patients." }
    NoMatches { fi: "Ei osumia. Kokeile lyhyempää hakua.", en: "No matches. Try a shorter search." }
    Name { fi: "Nimi", en: "Name" }
    BirthDate { fi: "Syntymäaika", en: "Birth date" }
    Branch { fi: "Toimipiste", en: "Branch" }
    OpenChart { fi: "Avaa kertomus", en: "Open chart" }
    OpenChartPurpose { fi: "Avauksen syy", en: "Reason for opening" }
    PurposeTreatment { fi: "Hoito", en: "Treatment" }
    PurposeAdministration { fi: "Hallinto", en: "Administration" }
    PurposeAudit { fi: "Valvonta", en: "Audit" }
    PurposeEmergency { fi: "Hätätilanne", en: "Emergency" }
    Identity { fi: "Henkilötiedot", en: "Identity" }
    Hetu { fi: "Henkilötunnus", en: "Personal identity code (HETU)" }
    Phone { fi: "Puhelin", en: "Phone" }
    Email { fi: "Sähköposti", en: "Email" }
    Address { fi: "Osoite", en: "Address" }
    Guardian { fi: "Huoltaja", en: "Guardian" }
    Notes { fi: "Muistiinpanot", en: "Notes" }
    NoNotes { fi: "Ei muistiinpanoja vielä.", en: "No notes yet." }
    CareTeam { fi: "Hoitotiimi", en: "Care team" }
    WaitsForHistory { fi: "{0} lisättiin tiimiin ({1}, {2}) eikä näe vielä aiempia merkintöjä.", en: "{0} was added to the team ({1}, {2}) and cannot read the earlier notes yet." }
    ShareHistory { fi: "Anna aiemmat merkinnät", en: "Share the earlier notes" }
    AccessLog { fi: "Lokitiedot: kuka on avannut kertomuksen", en: "Access log: who opened this chart" }
    NewNote { fi: "Uusi muistiinpano", en: "New note" }
    Template { fi: "Pohja", en: "Template" }
    TemplateFree { fi: "Vapaa teksti", en: "Free text" }
    Title { fi: "Otsikko", en: "Title" }
    NoteText { fi: "Teksti", en: "Text" }
    ShareWithPatient { fi: "Jaa potilaalle (potilas voi lukea tämän portaalissa)", en: "Share with the patient (they can read it in the portal)" }
    PrivateByDefault { fi: "Oletuksena vain hoitotiimi voi lukea muistiinpanon.", en: "By default only the care team can read the note." }
    SignAndLock { fi: "Allekirjoita ja lukitse", en: "Sign and lock" }
    SignAndLockHelp { fi: "Allekirjoitettua muistiinpanoa ei voi muuttaa; korjaus tehdään lisäyksenä, ja alkuperäinen jää näkyviin.", en: "A signed note cannot be changed; a correction is an amendment, and the original stays visible." }
    DraftSaved { fi: "Luonnos tallennettu salattuna tälle laitteelle {0}", en: "Draft saved, encrypted, on this device at {0}" }
    DraftRestored { fi: "Keskeneräinen luonnos palautettu.", en: "An unfinished draft was restored." }
    DiscardDraft { fi: "Hylkää luonnos", en: "Discard draft" }
    TierTeam { fi: "Hoitotiimi", en: "Care team only" }
    TierShared { fi: "Jaettu potilaalle", en: "Shared with patient" }
    Amend { fi: "Korjaa", en: "Amend" }
    AmendReason { fi: "Korjauksen syy", en: "Reason for the amendment" }
    AmendedBy { fi: "Korjattu {0}: {1}", en: "Amended {0}: {1}" }
    OriginalVersion { fi: "Alkuperäinen versio", en: "Original version" }
    WrittenBy { fi: "{0}, {1}", en: "{0}, {1}" }
    Version { fi: "Versio {0}", en: "Version {0}" }
    Signed { fi: "Allekirjoitettu", en: "Signed" }
    AccessEntryNumber { fi: "Nro", en: "No." }
    When { fi: "Aika", en: "When" }
    Who { fi: "Kuka", en: "Who" }
    What { fi: "Mitä", en: "What" }
    Why { fi: "Miksi", en: "Why" }
    LogVerified { fi: "Loki tarkistettu laitteellasi: {0} merkintää, allekirjoitettu ja todistettu.", en: "Log checked on this device: {0} entries, signed and proven." }
    NotRecognised { fi: "En tunnista tätä", en: "I don't recognise this" }
    ReportReason { fi: "Kerro lyhyesti, miksi (vain klinikan ylläpitäjät ja valvojat voivat lukea tämän)", en: "Say briefly why (only the clinic's admins and auditors can read this)" }
    SendReport { fi: "Lähetä ilmoitus", en: "Send report" }
    ReportSent { fi: "Ilmoitus lähetetty. Klinikka selvittää asian.", en: "Report sent. The clinic will look into it." }

    // Front desk
    Patients { fi: "Potilaat", en: "Patients" }
    FindPatients { fi: "Etsi potilaita", en: "Find patients" }
    AddPatient { fi: "Lisää potilas", en: "Add patient" }
    HetuValid { fi: "Henkilötunnus kelpaa (syntynyt {0})", en: "Valid identity code (born {0})" }
    Therapist { fi: "Terapeutti", en: "Therapist" }
    PatientAdded { fi: "Potilas lisätty.", en: "Patient added." }
    InvitePatient { fi: "Kutsu portaaliin", en: "Invite to the portal" }
    InviteCreated { fi: "Kutsukoodi (anna henkilökohtaisesti, kelpaa kerran, 72 tuntia):", en: "Invite code (hand it over in person; works once, for 72 hours):" }
    NoNoteAccess { fi: "Vastaanoton rooli ei anna pääsyä muistiinpanoihin.", en: "The front desk role gives no access to notes." }
    PatientsHelp { fi: "Lista näyttää vain hakutiedot (nimi ja syntymäaika). Henkilötietojen avaaminen kirjataan potilaan lokiin; muistiinpanoja tästä ei avata.", en: "The list shows search details only (name and birth date). Showing someone's identity is written to their access log; notes are never opened here." }
    ShowIdentity { fi: "Näytä henkilötiedot", en: "Show identity" }
    OpeningIdentity { fi: "Avataan henkilötietoja laitteellasi…", en: "Opening the identity on this device…" }
    IdentityOf { fi: "Henkilötiedot: {0}", en: "Identity: {0}" }
    NoCareTeam { fi: "Ei vielä terapeuttia", en: "No therapist yet" }
    PortalAccount { fi: "Portaali", en: "Portal" }
    PortalInUse { fi: "Potilaalla on portaalitili", en: "The patient has a portal account" }
    PortalNotYet { fi: "Ei vielä kutsuttu portaaliin", en: "Not yet invited to the portal" }
    AssignTherapist { fi: "Lisää terapeutti hoitotiimiin", en: "Add a therapist to the care team" }
    AddToCareTeam { fi: "Lisää hoitotiimiin", en: "Add to care team" }
    TherapistAdded { fi: "Terapeutti lisätty hoitotiimiin. Hän saa kertomuksen avaimet, kun joku hoitotiimistä seuraavan kerran avaa kertomuksen.", en: "Therapist added to the care team. They get the chart's keys when someone in the care team next opens the chart." }
    InviteOnlyCareTeam { fi: "Portaaliin kutsuu potilaan hoitotiimin terapeutti tai potilaan toimipisteen vastaanotto.", en: "The patient's care team or the front desk of the patient's branch invites them to the portal." }
    PendingJoins { fi: "Vahvistusta odottavat portaalitilit", en: "Portal sign-ups waiting for you" }
    PendingJoinsHelp { fi: "Vastaanotto kutsui nämä potilaasi portaaliin, ja he ovat luoneet tilinsä. Vahvista vain, jos kutsu on oikealle henkilölle: vahvistus antaa potilaalle hänelle jaetut muistiinpanot.", en: "The front desk invited these patients of yours to the portal, and they have made their accounts. Confirm only if the invite went to the right person: confirming gives the patient the notes shared with them." }
    PendingJoinDetail { fi: "kutsui {0}, {1}, potilaan tunnus {2}", en: "invited by {0}, {1}, patient login {2}" }
    ConfirmJoin { fi: "Vahvista", en: "Confirm" }
    DeclineJoin { fi: "Hylkää", en: "Decline" }
    JoinConfirmed { fi: "Vahvistettu: potilas voi nyt kirjautua portaaliin.", en: "Confirmed: the patient can now sign in to the portal." }
    JoinDeclined { fi: "Hylätty: kutsu ja sillä luotu tili on peruttu.", en: "Declined: the invite and the account made with it are revoked." }
    InviteConfirmedByTeam { fi: "Kun potilas on luonut tilinsä, hänen terapeuttinsa vahvistaa sen seuraavalla kirjautumisellaan. Vasta silloin potilas näkee hänelle jaetut muistiinpanot.", en: "Once the patient has made their account, their therapist confirms it at their next sign-in. Only then does the patient see the notes shared with them." }
    InviteReplaces { fi: "Potilaalla on jo portaalitili. Uusi kutsu korvaa sen (esimerkiksi kadonneen salasanan tai salaisen avaimen vuoksi).", en: "The patient already has a portal account. A new invite replaces it (for a lost password or Secret Key)." }
    CreatingInvite { fi: "Luodaan kutsua laitteellasi…", en: "Making the invite on this device…" }
    InviteExpires { fi: "Vanhenee {0}. Koodia ei näytetä uudelleen.", en: "Expires {0}. The code is not shown again." }
    CopyCode { fi: "Kopioi koodi", en: "Copy code" }
    Copied { fi: "Koodi kopioitu leikepöydälle.", en: "Code copied to the clipboard." }
    CopyFailed { fi: "Kopiointi ei onnistunut: valitse koodi ja kopioi se itse.", en: "Copying failed: select the code and copy it yourself." }
    CodeHandedOver { fi: "Valmis — piilota koodi", en: "Done — hide the code" }
    Optional { fi: "(vapaaehtoinen)", en: "(optional)" }
    HetuHelp { fi: "Muoto PPKKVV, välimerkki, kolme numeroa ja tarkiste, esim. 131052-308T. Jätä tyhjäksi, jos potilaalla ei ole henkilötunnusta.", en: "DDMMYY, a century sign, three digits and a check character, e.g. 131052-308T. Leave empty if the patient has none." }
    HetuTemporary { fi: "Kelvollinen tilapäinen henkilötunnus (syntynyt {0}; yksilönumero 900–999, käytetään myös testitiedoissa)", en: "Valid temporary identity code (born {0}; individual number 900–999, also used for test data)" }
    HetuErrShape { fi: "Henkilötunnuksessa on 11 merkkiä: PPKKVV, välimerkki, kolme numeroa ja tarkiste.", en: "A HETU has 11 characters: DDMMYY, a century sign, three digits and a check character." }
    HetuErrCentury { fi: "Seitsemännen merkin pitää olla välimerkki: + (1800-luku), - Y X W V U (1900-luku) tai A B C D E F (2000-luku).", en: "The 7th character must be a century sign: + for the 1800s, - Y X W V U for the 1900s, A B C D E F for the 2000s." }
    HetuErrDate { fi: "Kuusi ensimmäistä numeroa eivät ole oikea syntymäaika (PPKKVV).", en: "The first six digits are not a valid birth date (DDMMYY)." }
    HetuErrIndividual { fi: "Yksilönumeron (merkit 8–10) pitää olla välillä 002–999.", en: "The individual number (characters 8–10) must be between 002 and 999." }
    HetuErrChecksum { fi: "Tarkistemerkki ei täsmää: tarkista henkilötunnus kirjoitusvirheen varalta.", en: "The check character does not match: check the HETU for a typo." }
    BirthDateFromHetu { fi: "Henkilötunnuksesta.", en: "From the identity code." }
    BirthDateHelp { fi: "Täytä vain, jos potilaalla ei ole henkilötunnusta.", en: "Fill in only if the patient has no identity code." }
    CareTeamHelp { fi: "Valitut terapeutit voivat avata kertomuksen; ensimmäisen avaajan laite luo sen avaimet. Terapeutin voi lisätä myöhemminkin.", en: "The therapists chosen can open the chart; the first to open it creates its keys on their device. You can add a therapist later, too." }
    NoTherapistsInBranch { fi: "Tässä toimipisteessä ei ole vielä terapeutteja. Lisää terapeutti myöhemmin potilaslistalta.", en: "This branch has no therapists yet. Add one later from the patient list." }
    SavePatient { fi: "Tallenna potilas", en: "Save the patient" }
    AddingPatient { fi: "Tallennetaan… henkilötiedot salataan laitteellasi", en: "Saving… the identity is encrypted on this device" }
    AddAnother { fi: "Lisää toinen potilas", en: "Add another patient" }
    ToPatientList { fi: "Potilaslistaan", en: "To the patient list" }
    ErrPatientName { fi: "Kirjoita potilaan nimi (enintään 200 merkkiä).", en: "Type the patient's name (at most 200 characters)." }
    ErrHetuFix { fi: "Korjaa henkilötunnus tai jätä kenttä tyhjäksi.", en: "Correct the identity code or leave the field empty." }
    ErrBirthDate { fi: "Anna syntymäaika päivämääränä, esim. 1980-04-23.", en: "Give the birth date as a date, e.g. 1980-04-23." }
    ErrEmailFormat { fi: "Tarkista sähköpostiosoite: muoto on nimi@esimerkki.fi.", en: "Check the email address: it looks like name@example.com." }
    ErrNoBranch { fi: "Sinulla ei ole yhdenkään toimipisteen potilashakemistoa. Pyydä ylläpitäjää liittämään sinut toimipisteeseen.", en: "You hold no branch's patient directory. Ask an admin to add you to a branch." }

    // Admin
    Branches { fi: "Toimipisteet", en: "Branches" }
    NewBranch { fi: "Uusi toimipiste", en: "New branch" }
    Staff { fi: "Henkilökunta", en: "Staff" }
    InviteStaff { fi: "Kutsu henkilökuntaan", en: "Invite staff" }
    Role { fi: "Rooli", en: "Role" }
    RoleAdmin { fi: "Ylläpitäjä", en: "Admin" }
    RoleTherapist { fi: "Terapeutti", en: "Therapist" }
    RoleFrontdesk { fi: "Vastaanotto", en: "Front desk" }
    RoleAuditor { fi: "Valvoja", en: "Auditor" }
    RolePatient { fi: "Potilas", en: "Patient" }
    Invites { fi: "Kutsut", en: "Invites" }
    Alerts { fi: "Hälytykset", en: "Alerts" }
    NoAlerts { fi: "Ei hälytyksiä.", en: "No alerts." }
    Acknowledge { fi: "Kuittaa", en: "Acknowledge" }
    Decoys { fi: "Syöttikertomukset", en: "Decoy charts" }
    CreateDecoy { fi: "Luo syöttikertomus", en: "Create a decoy chart" }
    Reports { fi: "Potilaiden ilmoitukset", en: "Patients' reports" }
    AdminTitle { fi: "Klinikan hallinta", en: "Clinic administration" }
    AdminNativeHint { fi: "Ylläpitäjille suositellaan omaa vaiti-ohjelmaa: kaapattu palvelin voisi tarjota selaimelle toisen sovelluksen, mutta ei vaihtaa asennettua ohjelmaa.", en: "Admins are advised to use the native vaiti client: a taken-over server could serve the browser a different app, but cannot replace an installed program." }
    AuditorScope { fi: "Valvojana voit lukea hälytykset ja potilaiden ilmoitukset sekä tarkistaa lokin. Niiden käsittely kuuluu ylläpitäjille.", en: "As an auditor you can read alerts and patients' reports and check the log. Acting on them is for admins." }
    NoBranches { fi: "Ei toimipisteitä vielä.", en: "No branches yet." }
    BranchesHelp { fi: "Toimipisteen luominen vaatii klinikan juuriavaimen: se avataan laitteellasi vain tätä varten ja poistetaan muistista heti.", en: "Creating a branch needs the clinic root key: it is unwrapped on this device for this alone and dropped at once." }
    NewBranchName { fi: "Uuden toimipisteen nimi", en: "Name of the new branch" }
    CreateBranch { fi: "Luo toimipiste", en: "Create branch" }
    CreatingBranch { fi: "Allekirjoitetaan klinikan tiedot juuriavaimella laitteellasi…", en: "Signing the clinic's directory with the root key on this device…" }
    BranchCreated { fi: "Toimipiste {0} luotu.", en: "Branch {0} created." }
    Roles { fi: "Roolit", en: "Roles" }
    StaffBranches { fi: "Toimipisteet", en: "Branches" }
    StaffBranchesHelp { fi: "Terapeutti ja vastaanotto työskentelevät valituissa toimipisteissä; vastaanotto saa niiden potilashakemistot.", en: "Therapists and front desk work in the branches chosen; front desk gets their patient directories." }
    SendInvite { fi: "Luo kutsu", en: "Create invite" }
    ErrNoRole { fi: "Valitse vähintään yksi rooli.", en: "Choose at least one role." }
    ErrStaffBranch { fi: "Terapeutti ja vastaanotto työskentelevät toimipisteessä: valitse vähintään yksi.", en: "Therapists and front desk work in a branch: choose at least one." }
    InvitesHelp { fi: "Tekemäsi kutsut. Kun kutsuttu on luonut tilin, viimeistele liittyminen: laitteesi varmentaa hänet ja antaa hänelle tarvittavat avaimet.", en: "The invites you made. Once the invitee has signed up, complete the join: your device certifies them and hands them the keys they need." }
    NoInvites { fi: "Ei kutsuja.", en: "No invites." }
    InviteFor { fi: "Kenelle", en: "For" }
    Status { fi: "Tila", en: "Status" }
    Expires { fi: "Vanhenee", en: "Expires" }
    PatientPortalInvite { fi: "Potilas (portaali)", en: "Patient (portal)" }
    InviteOpen { fi: "Odottaa tilin luomista", en: "Waiting for sign-up" }
    InviteBound { fi: "Tili luotu — viimeistele liittyminen", en: "Signed up — complete the join" }
    InviteCompleted { fi: "Liittynyt", en: "Joined" }
    InviteRevoked { fi: "Peruttu", en: "Revoked" }
    InviteExpired { fi: "Vanhentunut", en: "Expired" }
    Revoke { fi: "Peru kutsu", en: "Revoke invite" }
    RevokeAccount { fi: "Poista tili käytöstä", en: "Revoke the account" }
    ConfirmRevokeAccount { fi: "Poistetaanko tili {0} käytöstä? Sen istunnot päättyvät ja varmenteet mitätöidään.", en: "Revoke the account of {0}? Its sessions end and its certificates are revoked." }
    RevokeDone { fi: "Peruttu.", en: "Revoked." }
    CompleteJoins { fi: "Viimeistele odottavat liittymiset", en: "Complete pending joins" }
    JoinsCompleted { fi: "Liittyminen viimeisteltiin ({0}): {1}", en: "Joins completed ({0}): {1}" }
    NoJoinsPending { fi: "Yksikään liittyminen ei odottanut.", en: "No joins were waiting." }
    Refresh { fi: "Päivitä", en: "Refresh" }
    Working { fi: "Käsitellään…", en: "Working…" }
    AlertsHelp { fi: "Hälytys kertoo kuka ja milloin, ei koskaan mitä kertomusta se koski.", en: "An alert says who and when, never which chart." }
    Kind { fi: "Tyyppi", en: "Kind" }
    Details { fi: "Tiedot", en: "Details" }
    AlertDecoy { fi: "Syöttikertomus", en: "Decoy chart" }
    AlertRate { fi: "Paljon avauksia", en: "Many openings" }
    AlertLogins { fi: "Epäonnistuneet kirjautumiset", en: "Failed logins" }
    AlertReport { fi: "Potilaan ilmoitus", en: "Patient report" }
    AlertDecoyDetail { fi: "Pyyntö koski syöttikertomusta", en: "A request named a decoy chart" }
    AlertRateDetail { fi: "{0} eri kertomusta avattu {1} minuutissa", en: "{0} distinct charts opened in {1} min" }
    AlertLoginsDetail { fi: "{0} epäonnistunutta kirjautumista {1} minuutissa", en: "{0} failed logins in {1} min" }
    AlertReportDetail { fi: "Potilas ilmoitti lokimerkinnästä {0}", en: "A patient reported access-log entry {0}" }
    AlertReportNoEntry { fi: "Potilas ilmoitti tietojensa käsittelystä", en: "A patient reported an access" }
    AcknowledgedAt { fi: "Kuitattu {0}", en: "Acknowledged {0}" }
    NotAcknowledged { fi: "Kuittaamatta", en: "Not acknowledged" }
    Acknowledged { fi: "Hälytys kuitattu.", en: "Alert acknowledged." }
    DecoysHelp { fi: "Syöttikertomus on uskottava keksitty potilas, jota kenenkään ei pitäisi koskaan avata. Jokainen sitä koskeva pyyntö hälyttää, eikä sitä näytetä missään listassa.", en: "A decoy is a realistic made-up patient nobody should ever open. Any request naming it raises an alert, and no list shows it." }
    DecoyOperatorNote { fi: "Palvelin pitää syöttilistan tietokannan ulkopuolella omassa tiedostossaan, joten varastetusta tietokannasta ei näe, mikä kertomus on syötti. Jos klinikalla on useita sovelluspalvelimia, ylläpitäjän on annettava niille sama syöttitiedosto ja käynnistettävä ne uudelleen syötin luomisen jälkeen.", en: "The server keeps the decoy list outside its database, in a file of its own, so a stolen database does not show which charts are decoys. If the clinic runs several app servers, the operator must give each the same decoy file and restart them after a decoy is created." }
    CreatingDecoy { fi: "Luodaan syöttikertomusta laitteellasi…", en: "Making the decoy on this device…" }
    DecoyCreated { fi: "Syöttikertomus luotu (kertomus {0}). Sitä ei näytetä listoissa; jokainen sitä koskeva pyyntö hälyttää.", en: "Decoy created (chart {0}). It is never listed; any request naming it raises an alert." }
    DecoyNotRegistered { fi: "Kertomus {0} luotiin, mutta sitä ei rekisteröity syötiksi, joten se näkyy listoissa kuin potilas. Rekisteröi se uudelleen. Syy: {1}", en: "Chart {0} was made but not registered as a decoy, so it is listed like a patient. Register it again. Reason: {1}" }
    RegisterDecoyAgain { fi: "Rekisteröi syötiksi", en: "Register as a decoy" }
    ReportsHelp { fi: "Potilaiden ”En tunnista tätä” -ilmoitukset, tarkistettuina ja avattuina laitteellasi.", en: "Patients' “I don't recognise this” reports, verified and decrypted on this device." }
    OpenReports { fi: "Avaa ilmoitukset", en: "Open the reports" }
    NoReports { fi: "Ei ilmoituksia.", en: "No reports." }
    ChartId { fi: "Kertomus", en: "Chart" }
    LogEntry { fi: "Lokimerkintä", en: "Log entry" }
    Reporter { fi: "Ilmoittaja", en: "Reported by" }
    Reason { fi: "Syy", en: "Reason" }
    ReportUnreadable { fi: "Et voi lukea tätä: et ollut klinikan ylläpitäjä tai valvoja, kun ilmoitus tehtiin.", en: "Not readable by you: you were not an admin or auditor of the clinic when it was filed." }
    VerifyLog { fi: "Tarkista tapahtumaloki", en: "Verify the access log" }
    VerifyLogHelp { fi: "Laitteesi hakee jokaisen lokimerkinnän, laskee puun uudelleen ja vertaa sitä allekirjoitettuun tarkistuspisteeseen. Poistettu, muutettu tai siirretty merkintä paljastuu.", en: "Your device fetches every log entry, recomputes the tree and compares it with the signed checkpoint. A deleted, edited or reordered entry shows." }
    Verifying { fi: "Tarkistetaan…", en: "Checking…" }
    LogRecomputed { fi: "Loki on eheä: {0} merkintää laskettu uudelleen, {1} kertomuksen ketju täydellinen. Juuri {2}.", en: "The log checks out: {0} entries recomputed, {1} charts' chains complete. Root {2}." }
    LogCheckedOnly { fi: "Tarkistettu allekirjoitettua tarkistuspistettä vasten: {0} merkintää. Juuri {1}.", en: "Checked against the signed checkpoint: {0} entries. Root {1}." }

    // Patient portal
    MySharedNotes { fi: "Minulle jaetut muistiinpanot", en: "Notes shared with me" }
    MyAccessLog { fi: "Kuka on käsitellyt tietojani ja miksi", en: "Who accessed my record, and why" }
    MyAccessLogHelp { fi: "Jokainen kertomuksesi avaus kirjataan lokiin, jota klinikka ei voi muuttaa huomaamatta. Jos et tunnista merkintää, kerro siitä.", en: "Every opening of your record is written to a log the clinic cannot change unnoticed. If you do not recognise an entry, tell us." }

    // About
    AboutTitle { fi: "Tietoja tästä sovelluksesta", en: "About this app" }
    AboutBody1 { fi: "Kaikki salaus tapahtuu tällä laitteella. Palvelin tallentaa vain salattua tietoa eikä voi lukea potilastietoja.", en: "All encryption happens on this device. The server stores only ciphertext and cannot read patient records." }
    AboutBody2 { fi: "Sovellus ladataan tiukalla sisältöturvakäytännöllä ja eheystarkisteilla: selain hylkää muutetun tai väärennetyn tiedoston. Tämä ei suojaa kaapattua palvelinta vastaan, joka voisi tarjota kokonaan toisen sovelluksen. Ylläpitäjille ja hallinta-avainten haltijoille suositellaan omaa vaiti-ohjelmaa.", en: "The app is delivered under a strict Content Security Policy with integrity checks: the browser refuses a changed or injected file. This does not protect against a taken-over server, which could serve a different app. Admins and holders of directory keys are advised to use the native vaiti client." }
    AboutRelease { fi: "Julkaisun tunniste (SHA-256 tiedostoluettelosta), sama kuin palvelimen käynnistyksessä ja läpinäkyvyyslokissa:", en: "Release fingerprint (SHA-256 of the asset manifest), as printed by the server at start-up and written to the transparency log:" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_exists_in_every_language_and_differs_where_it_should() {
        for &key in Key::ALL {
            for lang in Lang::ALL {
                assert!(!tr(lang, key).trim().is_empty(), "{key:?} in {lang:?}");
            }
        }
        // A spot check that the tables are not crossed.
        assert_eq!(tr(Lang::Fi, Key::SignIn), "Kirjaudu sisään");
        assert_eq!(tr(Lang::En, Key::SignIn), "Sign in");
    }

    #[test]
    fn placeholders_match_across_languages() {
        for &key in Key::ALL {
            let count = |s: &str| (0..4).filter(|i| s.contains(&format!("{{{i}}}"))).count();
            assert_eq!(
                count(tr(Lang::Fi, key)),
                count(tr(Lang::En, key)),
                "{key:?}"
            );
        }
    }

    #[test]
    fn fill_replaces_numbered_placeholders() {
        assert_eq!(fill("{0} and {1}", &["a", "b"]), "a and b");
        assert_eq!(Lang::from_code("en-GB"), Lang::En);
        assert_eq!(Lang::from_code("sv"), Lang::Fi);
    }
}
