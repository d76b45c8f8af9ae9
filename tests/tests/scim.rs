//! SCIM provisioning end to end on the embedded store (S65, S66): the
//! directory's operations and Entra ID's quirks, bad input, the holder's
//! console page and the operator's command. The Redis and PostgreSQL files
//! run the same drill on their backends.

use sekisho_tests::scim;
use sekisho_tests::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_directory_provisions_and_deprovisions_its_users() {
    let env = Env::start().await;
    scim::s65_a_directory_provisions_and_deprovisions_its_users(&env).await;
}
