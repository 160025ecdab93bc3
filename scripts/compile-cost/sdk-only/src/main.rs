//! Reads one secret through the SDK client.

#[tokio::main]
async fn main() -> Result<(), aws_sdk_secretsmanager::Error> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secret = client.get_secret_value().secret_id("prod/db").send().await?;
    let _password = secret.secret_string();
    println!("loaded");
    Ok(())
}
